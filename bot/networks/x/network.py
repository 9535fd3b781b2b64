"""X behind the network interface (bot.networks): what X's answers mean for a part.

- A resend of a part whose earlier request may have gone out (``uncertain``) is how X itself
  resolves it: X answers the same text with its "duplicate content" 403, which then means the
  first request published it (SPEC: Publishing guarantees); the post is then found among the
  account's recent posts for its id. A duplicate 403 for a part that was never sent is a
  refusal of the post: its text must change.
- An image is uploaded (v2 media upload), then its alt text set; X may forget an uploaded
  image (media ids expire after a day): it is uploaded again, once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.networks import Outgoing, PostRefused, Remote, Reply
from bot.networks.x.client import DuplicateContent, MediaUnknown
from bot.networks.x.prices import post_cost

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from bot.networks import Attachment, Journal
    from bot.networks.x.client import Publisher
    from bot.retries import RetryBudget


def status_url(tweet_id: str) -> str:
    return f"https://x.com/i/web/status/{tweet_id}"


class XNetwork:
    name = "x"
    link_cards = False  # X makes its own cards from the link

    def __init__(self, publisher: Publisher, budget: RetryBudget) -> None:
        self.publisher = publisher
        publisher.budget = budget  # one budget for the whole run

    @property
    def journal(self) -> Journal | None:
        return self.publisher.journal

    @journal.setter
    def journal(self, journal: Journal | None) -> None:
        self.publisher.journal = journal

    def token(self, now: datetime) -> str | None:
        return None  # the text is X's own idempotency means

    def upload(
        self, image: Attachment, stored: str | None, keep: Callable[[str | None], None]
    ) -> str:
        media_id = stored
        for attempt in (1, 2):
            try:
                if media_id is None:
                    media_id = self.publisher.upload_image(image.path, image.media_type)
                    keep(media_id)  # reused on retries
                self.publisher.describe_image(media_id, image.alt)
            except MediaUnknown:
                if attempt == 2:
                    raise
                keep(None)
                media_id = None
                continue
            break
        assert media_id is not None
        return media_id

    def publish(self, part: Outgoing, reply: Reply | None) -> Remote:
        try:
            tweet_id = self.publisher.post(
                part.text,
                reply_to=reply.parent.id if reply else None,
                media_ids=list(part.media) or None,
            )
        except DuplicateContent as error:
            if not (part.uncertain or error.uncertain):
                refused = PostRefused(f"{error}; change the text")
                refused.http_status = error.http_status
                raise refused from None
            tweet_id = None  # the earlier request, whose answer never came, had published it
        if tweet_id is None:
            if self.journal is not None:  # X billed the request whose answer was lost
                self.journal.billed_earlier(post_cost(part.text))
            return self.locate(part) or Remote(None)
        return Remote(tweet_id, status_url(tweet_id))

    def locate(self, part: Outgoing) -> Remote | None:
        tweet_id = self.publisher.find_published(part.text, with_media=bool(part.media))
        return Remote(tweet_id, status_url(tweet_id)) if tweet_id else None
