"""Recent search for the X source, spent carefully: a new query's backfill and the gap fill after a reconnect.

X bills every post a search returns. So no search is made while the cost guard is paused, and a query
already searched within the recent window is not searched again for a backfill (a query with stored posts
is not backfilled at all: the ingester resumes it, and its gap fill asks only for posts after the newest).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import httpx

from twitterstream.errors import DecodeError
from twitterstream.models import Post
from twitterstream.sources.errors import RateLimited, SourceError
from twitterstream.sources.identifiers import InvalidPost
from twitterstream.sources.x_client import SEARCH_QUERY_LIMIT, XClient
from twitterstream.sources.x_payload import posts_from_page
from twitterstream.sources.x_usage import UsageWatch

log = logging.getLogger(__name__)

#: Recent-search pages (of 100 posts) one query's gap fill reads at most.
GAP_FILL_MAX_PAGES = 10
#: Seconds a search waits for the first usage check (longer than its HTTP timeout).
USAGE_CHECK_WAIT = 15.0


class RecentSearch:
    """Billed searches of the X source (thread-safe: backfills run on a pool, gap fills on their own thread)."""

    def __init__(
        self,
        client: XClient,
        usage: UsageWatch,
        recent_window_seconds: float,
        invalid: Callable[[InvalidPost], None] | None = None,
    ) -> None:
        self.client = client
        self.usage = usage
        self.recent_window_seconds = recent_window_seconds
        self.invalid = invalid  # a post that breaks X's syntax is left out and handed here
        self._searched_at: dict[str, float] = {}  # query key -> when its latest page was last asked for
        self._lock = threading.Lock()

    def may_search(self, query_key: str, fresh: bool = True) -> bool:
        """False at the cap, for a query too long to search, and (``fresh``: a search for the latest page, as
        a backfill) for a query already searched within the recent window."""
        if len(query_key) > SEARCH_QUERY_LIMIT:
            log.info("query too long for recent search (%d > %d)", len(query_key), SEARCH_QUERY_LIMIT)
            return False
        self.usage.checked.wait(USAGE_CHECK_WAIT)  # a project already at its cap makes no search at all
        if not self.usage.guard.allow_read():
            log.info("no recent search for %r: %s", query_key, self.usage.guard.words())
            return False
        if not fresh:
            return True
        now = time.monotonic()
        with self._lock:
            last = self._searched_at.get(query_key)
            if last is not None and now - last < self.recent_window_seconds:
                log.info("no recent search for %r: already searched %.0f s ago", query_key, now - last)
                return False
            self._searched_at[query_key] = now
        return True

    def backfill(self, query_key: str, limit: int) -> list[Post]:
        """The latest ``limit`` posts of a newly watched query (none when the search is not to be made)."""
        if not self.may_search(query_key):
            return []
        try:
            posts = posts_from_page(self.client.search_recent(query_key, max_results=limit), self.invalid)
        except (SourceError, DecodeError, httpx.HTTPError) as exc:
            log.warning("backfill of %r failed: %s", query_key, exc)
            return []
        self.usage.count(len(posts))
        return posts

    def fill_gap(self, query_key: str, since_id: str | None) -> tuple[list[Post], bool]:
        """What ``query_key`` may have missed after ``since_id``, newest first; True when rate limited
        (the caller stops filling other queries too)."""
        if not self.may_search(query_key, fresh=since_id is None):
            return [], False
        posts: list[Post] = []
        next_token: str | None = None
        try:
            # Without a stored post there is nothing to fill from: take the latest page, as a backfill does.
            # With one, follow ``next_token`` through the older pages down to ``since_id``.
            for _ in range(GAP_FILL_MAX_PAGES if since_id else 1):
                page = self.client.search_recent(
                    query_key, max_results=100 if since_id else 10, since_id=since_id, next_token=next_token
                )
                found = posts_from_page(page, self.invalid)
                self.usage.count(len(found))
                posts += found
                next_token = (page.get("meta") or {}).get("next_token")
                if not next_token or not self.usage.guard.allow_read():
                    break
            else:
                if since_id:
                    log.warning("gap fill of %r stopped after %d pages", query_key, GAP_FILL_MAX_PAGES)
        except RateLimited:
            log.warning("gap fill stopped: recent search is rate limited")
            return posts, True
        except (SourceError, DecodeError, httpx.HTTPError) as exc:
            log.warning("gap fill of %r failed: %s", query_key, exc)
        return posts, False
