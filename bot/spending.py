"""What publishing costs on a network that bills each post (SPEC "X's bill"), worked out in one
place for the runner, `preview`, `plan` and `status`: a post's price there, the calendar
month's spend, and whether a monthly budget allows a post.

Money is counted in whole millionths of a dollar (X's prices are $0.015, $0.20, $0.005 and
$0.001: whole numbers of them), so a month of sums is exact. The month is the calendar month
in the config's time zone (SPEC). Nothing here prints, reads the clock or sends anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.networks import entry, prices_of

if TYPE_CHECKING:
    from datetime import tzinfo

    from bot.config import Config
    from bot.ledger import Ledger
    from bot.posts import Post

MICRO = 1_000_000  # millionths of a dollar in a dollar


def money(micro: int) -> str:
    """``$0.200``, ``$0.015``, ``$0.400``: to a tenth of a cent, as X prices posts; whole cents
    of a dollar or more as ``$36.00``."""
    if micro >= MICRO and micro % 10_000 == 0:
        return f"${micro / MICRO:,.2f}"
    return f"${micro / MICRO:,.3f}"


def dollars(micro: int) -> float:
    """For JSON: ``0.2``, ``0.015``."""
    return round(micro / MICRO, 6)


def month_of(moment: datetime, zone: tzinfo) -> tuple[datetime, datetime]:
    """The calendar month (in ``zone``) that ``moment`` falls in: its first instant, and the
    first instant of the next month."""
    shown = moment.astimezone(zone)
    start = datetime(shown.year, shown.month, 1, tzinfo=zone)
    following = (
        datetime(shown.year + 1, 1, 1, tzinfo=zone)
        if shown.month == 12
        else datetime(shown.year, shown.month + 1, 1, tzinfo=zone)
    )
    return start.astimezone(UTC), following.astimezone(UTC)


def month_name(moment: datetime, zone: tzinfo) -> str:
    return f"{moment.astimezone(zone):%B %Y}"


def billed(config: Config) -> list[str]:
    """The configured networks that bill each post (X)."""
    return [name for name in config.networks if entry(name).billed]


def price(network: str, parts: list[str], *, alt_text: bool) -> int | None:
    """What sending these parts costs on ``network`` (each part a post, the image's alt text
    once), or None for a network that does not bill. A thread is priced whole (issue 12)."""
    prices = prices_of(network)
    if prices is None:
        return None
    return sum(prices.post(text) for text in parts) + (prices.alt_text if alt_text else 0)


def post_price(post: Post, config: Config, network: str) -> int | None:
    """What ``post`` costs on ``network`` as it would be published now (None: not billed).
    Raises DoesNotFit as render_post does."""
    from bot.posts import render_post  # noqa: PLC0415

    if not entry(network).billed:
        return None
    parts = [part.text for part in render_post(post, config, network)]
    return price(network, parts, alt_text=post.image is not None)


@dataclass(frozen=True)
class Budget:
    """A billed network's month: what was spent, and the budget (None: no cap)."""

    network: str
    spent: int
    budget: int | None
    month: str  # ``December 2026``
    month_ends: datetime

    def allows(self, cost: int) -> bool:
        return self.budget is None or self.spent + cost <= self.budget

    def refusal(self, cost: int) -> str:
        """Why a post costing ``cost`` waits (for a budget that does not allow it)."""
        label = entry(self.network).label
        left = max((self.budget or 0) - self.spent, 0)
        if cost > (self.budget or 0):
            return (
                f"waits for {label}'s monthly budget: it costs {money(cost)}, more than the "
                f"whole {money(self.budget or 0)} a month; raise "
                f"networks.{self.network}.monthly_budget_usd"
            )
        return (
            f"waits for {label}'s monthly budget: it costs {money(cost)} and "
            f"{money(left)} of the {money(self.budget or 0)} for {self.month} is left "
            f"({money(self.spent)} spent); it goes out when the month ends, or raise "
            f"networks.{self.network}.monthly_budget_usd"
        )


def budget_of(config: Config, ledger: Ledger, network: str, now: datetime) -> Budget:
    """The network's spend in the month of ``now``, and its budget."""
    start, end = month_of(now, config.timezone)
    settings = config.networks.get(network)
    return Budget(
        network,
        ledger.spent(network, start, end),
        settings.monthly_budget if settings else None,
        month_name(now, config.timezone),
        end,
    )
