"""How a moment is written for people and for programs: one clock in all output (issue 9).

Every time a person reads is in the config's time zone with its abbreviation
(``2026-12-01 08:30 EST``), whichever command prints it; JSON and the ledger keep ISO 8601 UTC
(``2026-12-01T13:30:00Z``). Nothing here reads the clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo


def local(moment: datetime, zone: tzinfo, *, seconds: bool = False, weekday: bool = False) -> str:
    """``2026-12-01 08:30 EST`` (``Tue 2026-12-01 08:30:07 EST`` with both flags)."""
    shown = moment.astimezone(zone)
    form = f"{'%a ' if weekday else ''}%Y-%m-%d %H:%M{':%S' if seconds else ''} %Z"
    return shown.strftime(form)


def until(moment: datetime, zone: tzinfo) -> str:
    """An end such as ``expires``: a local midnight is the end of the day before (``expires:
    2026-12-07`` lets the post out all that day), so it reads ``the end of 7 Dec 2026``."""
    shown = moment.astimezone(zone)
    if (shown.hour, shown.minute, shown.second, shown.microsecond) == (0, 0, 0, 0):
        day = shown.date() - timedelta(days=1)
        return f"the end of {day.day} {day:%b %Y}"
    return local(moment, zone)


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC to the second, for JSON: ``2026-12-01T13:30:00Z``."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
