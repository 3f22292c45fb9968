"""The ingester: the one process that holds the source connections.

It runs every configured source at once, each on its own thread with its own connection, reconnect policy,
cursor and status; keeps them in step with the watched queries; routes each post to the queries it matches
(the service's own routing for X, the local query index otherwise); stores every source's posts through one
writer, in arrival order; and fetches each embed once, off the hot path. With a shared store, ingesters take
a lock: one works, the others wait as hot standbys.

Its parts, one job each: ``leader`` (the lock), ``runner`` (one source: its thread, status and Sink),
``watch`` (watched queries, routing, backfill), ``writer`` (the single writer), ``embeds`` (oEmbed requests),
``publisher`` (what the web reads), ``window`` (recent posts for new queries). This class starts and stops them.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from twitterstream.config import Settings
from twitterstream.embed import EmbedFetcher, bluesky_blockquote
from twitterstream.ingest.embeds import EmbedRequests
from twitterstream.ingest.leader import Leader
from twitterstream.ingest.publisher import QueryProblems, publish
from twitterstream.ingest.runner import SourceFactory, SourceRunner
from twitterstream.ingest.watch import LocalRouter, WatchSync
from twitterstream.ingest.window import RecentWindow
from twitterstream.ingest.writer import Match, StoreOutage, StoreWriter, retry_store
from twitterstream.metrics import IngestCounters
from twitterstream.models import Post
from twitterstream.query import PostFeatures
from twitterstream.sources.base import Source
from twitterstream.status import SourceState, SourceStatus
from twitterstream.store import Store, StoreUnavailable
from twitterstream.store.state import IngesterState

log = logging.getLogger(__name__)

#: Seconds between trims of old posts from the store.
TRIM_EVERY = 60.0
#: Longest pause before the ingester starts over after an unexpected error (it never gives up).
MAX_RESTART_DELAY = 16.0
#: Shortest time between two passes of the main loop (lock, watched queries, state): a burst of wakes (new
#: queries by the hundred) makes a pass every so often, not one each, since a pass reads every watched query.
MIN_PASS_INTERVAL = 0.05


class Ingester:
    """Runs the sources and turns what they receive into stored, routed, embedded posts.

    ``source_factory`` makes the one source of ``settings.source``; a mapping of them (source name to
    factory) runs several sources at once. Each factory is called with the :class:`Sink` of its source.
    """

    def __init__(
        self,
        settings: Settings,
        store: Store,
        source_factory: SourceFactory | Mapping[str, SourceFactory],
        embedder: EmbedFetcher | None = None,
        *,
        holder: str | None = None,
        lock_ttl: float = 10.0,
        tick: float = 1.0,
    ) -> None:
        self.settings = settings
        self.store = store
        factories = source_factory if isinstance(source_factory, Mapping) else {settings.source: source_factory}
        if not factories:
            raise ValueError("an ingester needs at least one source")
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lock_ttl = lock_ttl
        self.tick = tick
        self.counters = IngestCounters()
        self.runners = [SourceRunner(name, factory, self) for name, factory in factories.items()]
        self.window = RecentWindow(settings.recent_window_posts, settings.recent_window_seconds)
        self.problems = QueryProblems()
        self.outage = StoreOutage()
        self.leader = Leader(store, self.holder, lock_ttl, self.outage)
        self.writer = StoreWriter(self._store_matches)
        self.embeds = EmbedRequests(embedder, self._save_embed, self.counters) if embedder is not None else None
        self.watch = WatchSync(
            store,
            self.problems,
            self.window,
            self.counters,
            self.writer.put_many,
            self.newest_post_id,
            settings.keep_per_query,
        )
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        #: When the run loop last went round (epoch seconds): it stops when the loop stops or hangs.
        self.heartbeat = time.time()

    @property
    def source(self) -> Source | None:
        """The first source (the only one of a single-source ingester)."""
        return self.runners[0].source

    @property
    def status(self) -> SourceStatus:
        """The first source's status (what single-source pages show)."""
        return self.runners[0].status

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> Ingester:
        """Run in a background thread (a greenlet under gevent)."""
        self._thread = threading.Thread(target=self.run, name="ingester", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        for runner in self.runners:
            if runner.source is not None:
                runner.source.close()
        if self._thread is not None:
            self._thread.join(timeout)

    def wake(self) -> None:
        """Look at the watched queries now (a page just asked for a new one)."""
        self._wake.set()

    def flush(self) -> None:
        """Wait until everything the sources delivered so far (``counters.posts_received``) is stored."""
        self.writer.flush()

    @property
    def alive(self) -> bool:
        """True while the ingester's thread runs (also before :meth:`start`, when nothing has failed yet)."""
        return self._thread is None or self._thread.is_alive()

    def snapshot(self, *, stopped: bool = False) -> IngesterState:
        """The state the web shows: each source's status and counters, the totals, and the heartbeat."""
        sources = {runner.name: {**runner.status.to_json(), "counters": runner.counters()} for runner in self.runners}
        return IngesterState(
            self.holder,
            self.status.to_json(),
            self.counters.snapshot(),
            heartbeat=self.heartbeat,
            stopped=stopped or not self.alive,
            sources=sources,
        )

    def run(self) -> None:
        """Take the lock (waiting as a standby), run the source, keep it in step; until stopped.

        Nothing but :meth:`stop` ends it: a store that does not answer is waited for, and an unexpected
        error is logged and the source started over, with a growing pause.
        """
        if self.embeds is not None:
            self.embeds.start()
        failures = 0
        try:
            while not self._stop.is_set():
                self.heartbeat = time.time()
                try:
                    taken = self.leader.take()
                    if taken is None:  # the store does not answer (logged once by the outage): wait for it
                        self._stop.wait(self.lock_ttl / 3)
                        continue
                    if not taken:
                        for runner in self.runners:
                            runner.status = SourceStatus(runner.name, SourceState.STANDBY, "another ingester is active")
                        self._publish()
                        self._stop.wait(self.lock_ttl / 3)
                        continue
                    self._run_source()
                    failures = 0
                except StoreUnavailable as exc:  # raised by a store call only once stopping: nothing to report
                    if not self._stop.is_set():
                        self.outage.failed(exc)
                        self._stop.wait(self.lock_ttl / 3)
                except Exception:
                    failures += 1
                    delay = min(float(2 ** (failures - 1)), MAX_RESTART_DELAY)
                    log.exception("ingester: unexpected error; starting over in %.0f s", delay)
                    self._stop.wait(delay)
        finally:
            if self.embeds is not None:
                self.embeds.stop()
            self.watch.close()
            if self.leader.take():  # still ours: say that we stopped, so pages do not wait for the silence
                self._publish(stopped=True)
            self.leader.release()

    def _run_source(self) -> None:
        """Run every source on its own thread until stopped (one ending leaves the others running)."""
        log.info("ingester %s is active (sources: %s)", self.holder, ", ".join(r.name for r in self.runners))
        sources_stop = threading.Event()
        writing = False
        try:
            for runner in self.runners:
                runner.create()
            self.watch.follow(self.runners)
            self.writer.start()
            writing = True
            for runner in self.runners:
                runner.start(sources_stop)
            last_trim = time.monotonic()
            while not self._stop.is_set():
                began = time.monotonic()
                self.heartbeat = time.time()
                taken = self.leader.take()
                if taken is False:
                    log.error("ingester %s lost its lock to another: stopping the sources", self.holder)
                    return
                if any(runner.running for runner in self.runners):
                    self.watch.sync()
                    if time.monotonic() - last_trim > TRIM_EVERY:
                        last_trim = time.monotonic()
                        self._trim()
                # once every source has stopped by itself (fatal errors), only their statuses are published
                self._publish()
                self._wake.wait(min(self.tick, self.lock_ttl / 3))
                rest = MIN_PASS_INTERVAL - (time.monotonic() - began)
                if rest > 0:  # woken again at once: the wakes until the clear below make one pass
                    self._stop.wait(rest)
                self._wake.clear()
        finally:
            sources_stop.set()
            for runner in self.runners:
                runner.close()
            if writing:
                self.writer.stop()  # after what the sources delivered: the writer stores it all, then ends

    # -- what the sources' runners hand over --------------------------------------------------------
    def accept(self, post: Post, query_keys: list[str] | None, router: LocalRouter) -> None:
        """Route one post (with ``router`` unless the service routed it) and hand it to the writer, which
        stores it, then asks for its embed. The runner counts it as received once handed over, so that after
        :meth:`flush` every post counted is stored."""
        if post.extra.get("adult") and not self.settings.bluesky_show_adult:
            return  # self-labelled adult content stays off the wall unless the operator shows it
        if query_keys is None:
            features = PostFeatures(post)  # once, for the window's index and the router's
            self.window.add(post, features)
            query_keys = router.route(features)
        if query_keys:
            self.writer.put((post, query_keys))

    def delete(self, post_key: str) -> None:
        self.window.remove(post_key)
        self.writer.put(lambda: self._retry(lambda: self.store.delete_post(post_key)))

    def set_usage(self, posts_read: int, post_cap: int, estimated_spend_usd: float) -> None:
        self.counters.set("x_posts_read", posts_read)
        self.counters.set("x_post_cap", post_cap)
        self.counters.set("x_estimated_spend_usd", round(estimated_spend_usd, 4))

    def set_query_problem(self, query_key: str, problem: str | None, source: str | None = None) -> None:
        """A source cannot serve a query (None: it can again); with several sources, named as that source's."""
        if len(self.runners) == 1:
            source = None  # one source: its words alone, as they always were
        if self.problems.set(query_key, problem, source):
            self._wake.set()

    def newest_post_id(self, query_key: str) -> str | None:
        latest: list[Post] = self._retry(lambda: self.store.latest(query_key, 1))
        return latest[0].id if latest else None

    def load_state(self, name: str) -> Any:
        return self._retry(lambda: self.store.get_state(f"source:{name}"))

    def save_state(self, name: str, value: Any) -> None:
        # In order with the posts: a resume cursor is never stored ahead of the posts it covers.
        self.writer.put(lambda: self._retry(lambda: self.store.set_state(f"source:{name}", value)))

    # -- storing (on the writer's thread) -----------------------------------------------------------
    def _store_matches(self, matches: list[Match]) -> None:
        """Store posts with their queries (one transaction), then ask for the embeds of the new ones."""
        for post, _ in matches:
            source = self._source_of(post)
            if source is not None:
                source.prepare(post)
            if post.source == "bluesky" and post.embed_html is None:
                post.embed_html = bluesky_blockquote(post)  # built from the event itself: no request
        results = self._retry(lambda: self.store.save_matches(matches))
        for (post, _), newly in zip(matches, results, strict=True):
            if not newly:
                self.counters.add("duplicates_skipped")
                continue
            self.counters.add("posts_matched", len(newly))
            if post.embed_html is None and self.embeds is not None:
                self.embeds.request(post)

    def _source_of(self, post: Post) -> Source | None:
        """The source that completes ``post`` (a replayed post may name another network: its only source)."""
        if len(self.runners) == 1:
            return self.runners[0].source
        return next((r.source for r in self.runners if r.name == post.source), None)

    def _save_embed(self, post_key: str, embed_html: str) -> None:
        self._retry(lambda: self.store.set_embed(post_key, embed_html))

    def _retry(self, call: Callable[[], Any]) -> Any:
        return retry_store(call, self._stop, self.outage)

    # -- housekeeping ---------------------------------------------------------------------------------
    def _publish(self, *, stopped: bool = False) -> None:
        publish(self.store, self.snapshot(stopped=stopped), self.problems, self.outage)

    def _trim(self) -> None:
        try:
            self.store.trim(self.settings.keep_per_query, max(self.settings.recent_window_seconds, 3600.0))
        except StoreUnavailable as exc:
            self.outage.failed(exc)
