"""The run's one retry budget (SPEC: "Retries": about a minute retrying *in all*), through
``bot.retries.retrying`` with a clock and a sleep that only count: what a failing request costs
is the waits between its attempts *and* the time the failed attempts took (a request that hangs
until its read timeout is not free)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import tenacity

from bot.retries import RUN_RETRY_SECONDS, RetryBudget, retrying


class Flaky(Exception):
    pass


class Refused(Exception):
    pass


class Time:
    """A clock that moves only when told to: a sleep moves it, and so does a slow attempt."""

    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def request_taking(
    time: Time, seconds: float, error: type[Exception] = Flaky
) -> tuple[Callable[[], None], list[float]]:
    attempts: list[float] = []

    def attempt() -> None:
        attempts.append(time.now)
        time.now += seconds  # e.g. hung until the 30 s read timeout
        raise error("no answer")

    return attempt, attempts


def one_request(budget: RetryBudget, time: Time, wait: float = 1.0) -> tenacity.Retrying:
    return retrying(budget, retry_on=Flaky, wait=lambda state: wait, sleep=time.sleep, clock=time)


def test_the_time_failed_attempts_take_is_spent_from_the_budget() -> None:
    time, budget = Time(), RetryBudget()
    attempt, attempts = request_taking(time, 25.0)
    started = time.now
    with pytest.raises(Flaky):
        one_request(budget, time)(attempt)
    # 25 s (35 left), wait 1 s (34), 25 s (9), wait 1 s (8), 25 s (0): no room for a wait.
    assert len(attempts) == 3
    assert time.sleeps == [1.0, 1.0]
    assert budget.spent
    # The run kept at it about a minute, plus the one attempt that found the budget gone; six
    # attempts (the per-request cap) would have taken 155 s.
    assert time.now - started == 77.0


def test_hung_attempts_of_two_requests_share_one_budget() -> None:
    time, budget = Time(), RetryBudget()
    first, first_attempts = request_taking(time, 30.0)
    with pytest.raises(Flaky):
        one_request(budget, time)(first)
    assert len(first_attempts) == 2  # 30 s, wait 1 s, 30 s: the minute is gone
    second, second_attempts = request_taking(time, 30.0)
    with pytest.raises(Flaky):
        one_request(budget, time)(second)
    assert len(second_attempts) == 1  # tried once, never retried
    assert time.sleeps == [1.0]


def test_waits_are_spent_too_and_a_wait_that_does_not_fit_is_not_made() -> None:
    time, budget = Time(), RetryBudget()
    attempt, attempts = request_taking(time, 0.0)
    with pytest.raises(Flaky):
        one_request(budget, time, wait=25.0)(attempt)
    assert time.sleeps == [25.0, 25.0]  # a third 25 s wait would pass the 60 s
    assert len(attempts) == 3
    assert budget.left == RUN_RETRY_SECONDS - 50.0


def test_a_refusal_is_not_retried_and_costs_the_budget_nothing() -> None:
    time, budget = Time(), RetryBudget()
    attempt, attempts = request_taking(time, 20.0, Refused)
    with pytest.raises(Refused):
        one_request(budget, time)(attempt)
    assert len(attempts) == 1
    assert budget.left == RUN_RETRY_SECONDS


def test_an_attempt_that_succeeds_after_a_slow_failure_returns_its_answer() -> None:
    time, budget = Time(), RetryBudget()
    attempts: list[float] = []

    def attempt() -> str:
        attempts.append(time.now)
        if len(attempts) == 1:
            time.now += 30.0
            raise Flaky("timed out")
        return "1890"

    assert one_request(budget, time)(attempt) == "1890"
    assert budget.left == RUN_RETRY_SECONDS - 31.0
