"""Notifications: problems told to people through apprise, and the heartbeat (SPEC:
"Notifications").

This is the only module that imports apprise, and only when there is something to send: apprise
takes about 0.2 s to import, and a cron run every five minutes should not pay for it. Nothing
here raises for a notification that cannot be delivered: ``send`` says which targets failed,
by scheme and host only (an apprise URL carries its tokens), and the caller logs it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10  # a dead receiver must not hold a cron run for long
_SEPARATORS = re.compile(r"[\s,]+")


def notification_urls(configured: Iterable[str], environ_value: str | None) -> list[str]:
    """``notify.urls`` and ``NOTIFY_URLS`` (separated by spaces or commas), each once."""
    urls = [*configured, *_SEPARATORS.split(environ_value or "")]
    return list(dict.fromkeys(url.strip() for url in urls if url.strip()))


def redact_url(url: str, number: int | None = None) -> str:
    """What a message may say about a target: its scheme (and its place in the list), never
    anything after it — many apprise URLs carry their token as the "host" (slack://TokenA/…)."""
    scheme = url.split("://", 1)[0] if "://" in url else "?"
    if not scheme.replace("+", "").replace("-", "").isalnum():
        scheme = "?"
    return f"{scheme} target" + (f" #{number}" if number is not None else "")


@dataclass
class Delivery:
    """What happened to one message: the targets it reached and those it did not."""

    delivered: list[str] = field(default_factory=list)  # redacted
    failed: list[str] = field(default_factory=list)  # redacted, each with why

    @property
    def complete(self) -> bool:
        return not self.failed


def send(urls: list[str], title: str, body: str) -> Delivery:
    """Deliver one message to every target; never raises for a target that fails."""
    delivery = Delivery()
    if not urls:
        return delivery
    import apprise  # noqa: PLC0415 - only when there is something to send

    # apprise logs its own failures, sometimes with more of the URL than we show.
    logging.getLogger("apprise").setLevel(logging.CRITICAL)
    for number, url in enumerate(urls, start=1):
        shown = redact_url(url, number)
        target = apprise.Apprise()
        if not target.add(_with_timeouts(url)):
            delivery.failed.append(f"{shown}: not a notification URL apprise knows; fix it")
            continue
        try:
            ok = bool(target.notify(title=title, body=body))
        except Exception as error:  # noqa: BLE001 - a plugin's bug must not fail the run
            delivery.failed.append(f"{shown}: {type(error).__name__}")
            continue
        if ok:
            delivery.delivered.append(shown)
        else:
            delivery.failed.append(f"{shown}: not delivered")
    return delivery


def _with_timeouts(url: str) -> str:
    """apprise's connect and read timeouts (``cto``, ``rto``: 4 and 4 s by default for most
    plugins, but not all), made explicit unless the URL sets them."""
    if "://" not in url or "cto=" in url or "rto=" in url:
        return url
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}cto={TIMEOUT_SECONDS}&rto={TIMEOUT_SECONDS}"


def ping_heartbeat(url: str, *, timeout: float = TIMEOUT_SECONDS) -> str | None:
    """GET the dead-man's switch; None when it answered, else why not (without the URL's
    path, which is its token)."""
    import http.client  # noqa: PLC0415 - http.client and ssl only when there is a heartbeat
    import urllib.error  # noqa: PLC0415
    import urllib.request  # noqa: PLC0415

    shown = redact_url(url).removesuffix(" target")
    try:
        request = urllib.request.Request(url, headers={"User-Agent": "interlink-bot"})  # noqa: S310
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            answer.read(1024)
    except urllib.error.HTTPError as error:
        return f"heartbeat {shown} answered {error.code}"
    except (OSError, ValueError, http.client.HTTPException) as error:
        return f"heartbeat {shown} could not be reached ({type(error).__name__})"
    return None
