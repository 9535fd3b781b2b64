"""One retry budget per run, spent by every request to every network (SPEC: "Retries").

A run may spend about a minute *in all* retrying: not a minute per request, nor per post, so that
a cron run every five minutes never overlaps the next because X is slow. Retrying costs both the
waits between attempts and the time the failed attempts themselves took: a request that hangs
until its 30 s read timeout spends half the run's minute, so six of them cannot keep a run busy
for three. The strategies are tenacity's (small, composable, fed from the one shared
``RetryBudget``); the clock and the sleep are injected, so tests never wait.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tenacity

RUN_RETRY_SECONDS = 60.0
MAX_ATTEMPTS = 6  # of one request, however much budget is left


class RetryBudget:
    """The seconds of retrying left to a run (waits, and the time failed attempts took).
    Each network's client draws on the same one."""

    def __init__(self, seconds: float = RUN_RETRY_SECONDS) -> None:
        self.total = seconds
        self.left = seconds

    def allows(self, seconds: float) -> bool:
        return seconds <= self.left

    def spend(self, seconds: float) -> None:
        self.left = max(self.left - seconds, 0.0)

    @property
    def spent(self) -> bool:
        return self.left <= 0.0


class _BudgetSpent(tenacity.stop.stop_base):
    """Stop when the next wait does not fit in what is left of the run's budget: the rest
    waits for the next run, and a rate limit that resets later than that ends the run's
    requests to that network at once."""

    def __init__(self, budget: RetryBudget) -> None:
        self.budget = budget

    def __call__(self, state: tenacity.RetryCallState) -> bool:
        return not self.budget.allows(state.upcoming_sleep)


def retrying(
    budget: RetryBudget,
    *,
    retry_on: type[BaseException],
    wait: Callable[[tenacity.RetryCallState], float],
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    log: Callable[[tenacity.RetryCallState], None] | None = None,
) -> tenacity.Retrying:
    """A tenacity ``Retrying`` for one request: retried on ``retry_on``, waiting as ``wait``
    says, for as long as the run's ``budget`` lasts. Each attempt that fails in a way worth
    retrying spends the time it took (read from ``clock``), and each wait spends its length."""
    started = [0.0]

    def before(state: tenacity.RetryCallState) -> None:
        started[0] = clock()

    def after(state: tenacity.RetryCallState) -> None:
        # tenacity calls this for a failed attempt before it decides whether to stop, so the
        # attempt's own time counts against the next wait.
        budget.spend(max(clock() - started[0], 0.0))

    def before_sleep(state: tenacity.RetryCallState) -> None:
        budget.spend(state.upcoming_sleep)
        if log is not None:
            log(state)

    options: dict[str, Any] = {
        "retry": tenacity.retry_if_exception_type(retry_on),
        "wait": wait,
        "stop": tenacity.stop_any(tenacity.stop_after_attempt(MAX_ATTEMPTS), _BudgetSpent(budget)),
        "sleep": sleep,
        "before": before,
        "after": after,
        "before_sleep": before_sleep,
        "reraise": True,
    }
    return tenacity.Retrying(**options)


def backoff(state: tenacity.RetryCallState) -> float:
    """Exponential backoff with full jitter (1 s, 2 s, 4 s… at most 30 s)."""
    return float(tenacity.wait_random_exponential(multiplier=1, max=30)(state))
