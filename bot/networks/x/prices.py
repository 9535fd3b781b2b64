"""What X bills (SPEC "X's bill"; ../shared/X-API-NOTES.md and NETWORKS-NOTES.md: X's
pay-per-use pricing since February 2026, revised 20 April 2026), in millionths of a dollar.

A post "contains a URL" as X finds URLs: by twitter-text's extraction, the same rule that
counts each URL as 23 characters (``extract_urls``), so "example.org" is a link here too.
"""

from __future__ import annotations

from bot.networks import Prices
from bot.networks.x.text import extract_urls

POST = 15_000  # $0.015: a post
POST_WITH_URL = 200_000  # $0.20: a post containing a URL
ALT_TEXT = 5_000  # $0.005: media metadata (an image's alt text)
READ = 1_000  # $0.001: each of the account's own posts read


def post_cost(text: str) -> int:
    return POST_WITH_URL if extract_urls(text) else POST


PRICES = Prices(post_cost, ALT_TEXT, READ)
