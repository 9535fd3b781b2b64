"""How a network's client makes its requests, the same way for every network: each one written
down before it is made and again with its outcome (``journaled``), and retried within the run's
one budget, waiting for a rate limit's reset when the network said when (``retrying_within``).

Imported by the clients only, when something is sent: tenacity stays off the quiet tick.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from bot.networks import AccountRefused, PublishError, Retryable
from bot.retries import backoff, retrying

if TYPE_CHECKING:
    import tenacity

    from bot.networks import Journal
    from bot.retries import RetryBudget

_T = TypeVar("_T")


def journaled(
    journal: Journal | None,
    kind: str,
    request: Callable[[], _T],
    *,
    cost: Callable[[_T], int] | None = None,
) -> _T:
    """Make one request, written down before it is made (the ledger keeps it even if the
    process dies in it) and again with its outcome. ``request`` raises only PublishError for
    the network's answers (each client translates its library's errors). ``cost``: what the
    network bills for a request it accepted, from its answer."""
    if journal is not None:
        journal.started(kind)
    try:
        result = request()
    except PublishError as error:
        if journal is not None:
            account = isinstance(error, AccountRefused)
            journal.ended(error.outcome, error.http_status, str(error), account=account)
        raise
    if journal is not None:
        journal.ended("ok", None, None, cost=cost(result) if cost else 0)
    return result


def retrying_within(
    budget: RetryBudget,
    *,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    elapsed: Callable[[], float],
    log: Callable[[tenacity.RetryCallState], None] | None = None,
) -> tenacity.Retrying:
    """Retry on Retryable from the run's ``budget``: exponential backoff with jitter, or until
    the reset a rate limit gave (read against ``clock``, the network's time) and a second more.
    ``elapsed`` is a monotonic clock: a step of the wall clock neither spends nor refunds the
    budget."""

    def wait(state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, Retryable) and error.reset is not None:
            return max(error.reset.timestamp() - clock(), 0.0) + 1.0
        return backoff(state)

    return retrying(budget, retry_on=Retryable, wait=wait, sleep=sleep, clock=elapsed, log=log)
