"""Keeps the sources in step with the watched queries: the local index, the source's own rules, backfills."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from twitterstream.ingest.publisher import QueryProblems
from twitterstream.ingest.window import RecentWindow
from twitterstream.ingest.writer import Match
from twitterstream.metrics import IngestCounters
from twitterstream.models import Post
from twitterstream.query import PostFeatures, Query, QueryError, QueryIndex, parse
from twitterstream.query.capabilities import not_followed, unsupported_on
from twitterstream.query.networks import on_source
from twitterstream.store import Store, StoreUnavailable

if TYPE_CHECKING:
    from twitterstream.ingest.runner import SourceRunner

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
    """Reads the watched queries (leases) from the store and brings the sources and their routers in step.

    Each query goes to the sources that can evaluate it (X evaluates every operator; the others only what
    their posts carry); a query is a problem only when no running source can. Called from the ingester's
    main loop only; backfills run on a small pool and hand what they find to the writer, like streamed posts.
    """

    def __init__(
        self,
        store: Store,
        problems: QueryProblems,
        window: RecentWindow,
        counters: IngestCounters,
        write: Callable[[list[Match]], None],
        newest_post_id: Callable[[str], str | None],
        keep_per_query: int,
    ) -> None:
        self.store = store
        self.problems = problems
        self.window = window
        self.counters = counters
        self.write = write
        self.newest_post_id = newest_post_id
        self.keep_per_query = keep_per_query
        self.watched: dict[str, Query] = {}
        #: Per watched query: the names of the sources that take it.
        self.takers: dict[str, tuple[str, ...]] = {}
        #: Per watched query: each taker's view of it (``source:`` decided; what X's rule is made of).
        self.seen: dict[str, dict[str, Query]] = {}
        self._runners: list[SourceRunner] = []
        self._told = False
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="backfill")

    def follow(self, runners: list[SourceRunner]) -> None:
        """Start over with new sources (they know no query yet)."""
        self.watched = {}
        self.takers = {}
        self.seen = {}
        self._runners = list(runners)
        self._told = False

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def sync(self) -> None:
        """Compare the store's watched queries with what the sources follow, and tell them the difference."""
        if not self._runners:
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
            self.takers.pop(key, None)
            self.seen.pop(key, None)
            for runner in self._runners:
                runner.router.remove(key)
            self.problems.set(key, None)
        for key in added:
            self._add(key, watched[key])
        self.counters.watched_queries = len(self.watched)
        for runner in self._runners:
            if runner.source is not None:
                taken = {key: seen[runner.name] for key, seen in self.seen.items() if runner.name in seen}
                runner.source.set_watched(taken)
        self._told = True
        log.info("watching %d %s (+%d, -%d)", len(self.watched), _queries(len(self.watched)), len(added), len(removed))

    def _add(self, key: str, text: str) -> None:
        try:
            query = parse(text)
        except QueryError as exc:  # the web validates first; a stale or tampered lease ends here
            log.warning("ignoring an invalid watched query %r: %s", key, exc)
            return
        # Each source takes the query as it reads on its posts: source: decided, X's rule without it.
        seen = {runner.name: on_source(query, runner.name) for runner in self._runners}
        takers: list[SourceRunner] = []
        for runner in self._runners:
            source, own = runner.source, seen[runner.name]
            if source is None or own is None:
                continue
            if not (source.routes_locally and unsupported_on(own, runner.name)):
                takers.append(runner)
        if not takers:
            error = not_followed(query, [runner.name for runner in self._runners])
            self.problems.set(key, error.message if error else "no running source can follow this query")
            return
        self.watched[key] = query
        self.takers[key] = tuple(runner.name for runner in takers)
        self.seen[key] = {runner.name: own for runner in takers if (own := seen[runner.name]) is not None}
        for runner in takers:
            if runner.source is not None and runner.source.routes_locally:
                runner.router.add(key, self.seen[key][runner.name])
        newest = self.newest_post_id(key)
        if newest:  # watched before this ingester started: fill the gap instead of a backfill
            for runner in takers:
                if runner.source is not None:
                    runner.source.resume(key, newest)
        others = {runner.name for runner in self._runners} - set(self.takers[key])
        self._pool.submit(self._backfill, takers, others, key, query, self.seen[key], bool(newest))

    def _backfill(
        self,
        takers: list[SourceRunner],
        others: set[str],
        key: str,
        query: Query,
        views: dict[str, Query],
        resumed: bool,
    ) -> None:
        """The first posts of a newly watched query: each service's search (for the query as it reads there:
        ``views``), and the recent window (without the posts of sources that cannot evaluate the query)."""
        try:
            posts: list[Post] = []
            sources = [runner.source for runner in takers if runner.source is not None]
            if not resumed:
                for runner in takers:
                    if runner.source is None:
                        continue
                    found = runner.source.backfill(key, views[runner.name], BACKFILL_LIMIT)
                    self.counters.add("posts_received", len(found))
                    posts += found
            if any(source.routes_locally for source in sources):
                recent = self.window.newest_matches(query, self.keep_per_query)  # source: decided per post
                posts += [post for post in recent if post.delivered_by not in others]
            self.write([(post, [key]) for post in reversed(posts)])  # oldest first, as a stream delivers them
        except Exception:
            log.exception("backfilling %r failed", key)


def _queries(n: int) -> str:
    return "query" if n == 1 else "queries"
