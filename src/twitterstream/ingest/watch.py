"""Keeps the source in step with the watched queries: the local index, the source's own rules, backfills."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from twitterstream.ingest.publisher import QueryProblems
from twitterstream.ingest.window import RecentWindow
from twitterstream.ingest.writer import Match
from twitterstream.metrics import IngestCounters
from twitterstream.models import Post
from twitterstream.query import PostFeatures, Query, QueryError, QueryIndex, parse
from twitterstream.query.capabilities import unsupported_on
from twitterstream.sources.base import Source
from twitterstream.store import Store, StoreUnavailable

log = logging.getLogger(__name__)

#: Posts a newly watched query asks the service's search for.
BACKFILL_LIMIT = 10


class LocalRouter:
    """The index of the watched queries that the ingester matches locally (thread-safe)."""

    def __init__(self) -> None:
        self._index = QueryIndex()
        self._lock = threading.Lock()

    def add(self, key: str, query: Query) -> None:
        with self._lock:
            self._index.add(key, query)

    def remove(self, key: str) -> None:
        with self._lock:
            self._index.remove(key)

    def route(self, post: Post | PostFeatures) -> list[str]:
        """The keys of the watched queries ``post`` matches."""
        with self._lock:
            return self._index.match(post)


class WatchSync:
    """Reads the watched queries (leases) from the store and brings the source and the router in step.

    Called from the ingester's main loop only; backfills run on a small pool and hand what they find to
    the writer, like streamed posts.
    """

    def __init__(
        self,
        store: Store,
        router: LocalRouter,
        problems: QueryProblems,
        window: RecentWindow,
        counters: IngestCounters,
        write: Callable[[Match], None],
        newest_post_id: Callable[[str], str | None],
        keep_per_query: int,
    ) -> None:
        self.store = store
        self.router = router
        self.problems = problems
        self.window = window
        self.counters = counters
        self.write = write
        self.newest_post_id = newest_post_id
        self.keep_per_query = keep_per_query
        self.watched: dict[str, Query] = {}
        self._source: Source | None = None
        self._told = False
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="backfill")

    def follow(self, source: Source) -> None:
        """Start over with a new source (it knows no query yet)."""
        for key in self.watched:
            self.router.remove(key)
        self.watched = {}
        self._source = source
        self._told = False

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def sync(self) -> None:
        """Compare the store's watched queries with what the source follows, and tell it the difference."""
        source = self._source
        if source is None:
            return
        try:
            watched = {w.key: w.text for w in self.store.watched()}
        except StoreUnavailable as exc:
            log.warning("store unavailable: %s", exc)
            return
        added = [key for key in watched if key not in self.watched]
        removed = [key for key in self.watched if key not in watched]
        if not added and not removed and self._told:
            return
        for key in removed:
            del self.watched[key]
            self.router.remove(key)
            self.problems.set(key, None)
        for key in added:
            self._add(source, key, watched[key])
        self.counters.watched_queries = len(self.watched)
        source.set_watched(dict(self.watched))
        self._told = True
        log.info("watching %d %s (+%d, -%d)", len(self.watched), _queries(len(self.watched)), len(added), len(removed))

    def _add(self, source: Source, key: str, text: str) -> None:
        try:
            query = parse(text)
        except QueryError as exc:  # the web validates first; a stale or tampered lease ends here
            log.warning("ignoring an invalid watched query %r: %s", key, exc)
            return
        unsupported = unsupported_on(query, source.name) if source.routes_locally else []
        if unsupported:
            self.problems.set(key, f"{', '.join(unsupported)} cannot be evaluated on {source.name} posts")
            return
        self.watched[key] = query
        if source.routes_locally:
            self.router.add(key, query)
        newest = self.newest_post_id(key)
        if newest:  # watched before this ingester started: fill the gap instead of a backfill
            source.resume(key, newest)
        self._pool.submit(self._backfill, source, key, query, bool(newest))

    def _backfill(self, source: Source, key: str, query: Query, resumed: bool) -> None:
        """The first posts of a newly watched query: the service's search, and the recent window."""
        try:
            posts: list[Post] = []
            if not resumed:
                posts = source.backfill(key, query, BACKFILL_LIMIT)
                self.counters.add("posts_received", len(posts))
            if source.routes_locally:
                posts += self.window.newest_matches(query, self.keep_per_query)
            for post in reversed(posts):  # oldest first, as a stream delivers them
                self.write((post, [key]))
        except Exception:
            log.exception("backfilling %r failed", key)


def _queries(n: int) -> str:
    return "query" if n == 1 else "queries"
