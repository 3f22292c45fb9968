"""The ingester: the one process that holds the source connection.

It keeps the source in step with the watched queries, routes each post to the queries it matches (the
service's own routing for X, the local query index otherwise), stores it once, and fetches its embed once,
off the hot path. With a shared store, ingesters take a lock: one works, the others wait as hot standbys.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from twitterstream.config import Settings
from twitterstream.embed import EmbedFetcher, bluesky_blockquote
from twitterstream.metrics import IngestCounters
from twitterstream.models import Post
from twitterstream.query import Query, QueryError, QueryIndex, parse
from twitterstream.sources.base import ReconnectPolicy, Source, SourceStatus
from twitterstream.store import Store, StoreUnavailable

log = logging.getLogger(__name__)

LOCK_NAME = "ingester"
STATE_NAME = "ingester"
PROBLEMS_STATE = "query_problems"
BACKFILL_LIMIT = 10
#: Posts (and other store calls) the source may hand over before it waits for the store: back-pressure.
WRITE_QUEUE_SIZE = 10_000
#: Most queued items stored in one transaction.
WRITE_BATCH = 500

SourceFactory = Callable[["Ingester"], Source]
#: What the source hands to the writer: a post with its queries, another store call to make in order, or
#: None (the end).
Write = tuple[Post, list[str]] | Callable[[], Any] | None


class RecentWindow:
    """The last posts received (by count and by age), so that a new query fills at once.

    A deleted post is only marked (the network deletes a few posts a second: no rebuilding of the window).
    """

    def __init__(self, max_posts: int, max_age: float) -> None:
        self._posts: deque[tuple[float, Post]] = deque()
        self._max_posts = max_posts
        self._max_age = max_age
        self._keys: dict[str, int] = {}  # post key -> copies in the window
        self._deleted: set[str] = set()
        self._lock = threading.Lock()

    def add(self, post: Post) -> None:
        now = time.monotonic()
        with self._lock:
            self._posts.append((now, post))
            self._keys[post.key] = self._keys.get(post.key, 0) + 1
            while self._posts and (len(self._posts) > self._max_posts or self._posts[0][0] < now - self._max_age):
                self._forget(self._posts.popleft()[1].key)

    def _forget(self, key: str) -> None:
        left = self._keys.pop(key) - 1
        if left:
            self._keys[key] = left
        else:
            self._deleted.discard(key)

    def remove(self, post_key: str) -> None:
        with self._lock:
            if post_key in self._keys:
                self._deleted.add(post_key)

    def newest_matches(self, query: Query, limit: int) -> list[Post]:
        """Up to ``limit`` posts of the window that match ``query``, newest arrival first."""
        with self._lock:
            posts = [post for _, post in self._posts]
            deleted = set(self._deleted)
        found: list[Post] = []
        for post in reversed(posts):
            if post.key not in deleted and query.matches(post):
                found.append(post)
                if len(found) >= limit:
                    break
        return found

    def __len__(self) -> int:
        return len(self._posts)


class Ingester:
    """Runs a source and turns what it receives into stored, routed, embedded posts."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        source_factory: SourceFactory,
        embedder: EmbedFetcher | None = None,
        *,
        holder: str | None = None,
        lock_ttl: float = 10.0,
        tick: float = 1.0,
    ) -> None:
        self.settings = settings
        self.store = store
        self.source_factory = source_factory
        self.embedder = embedder
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lock_ttl = lock_ttl
        self.tick = tick
        self.counters = IngestCounters()
        self.source: Source | None = None
        self.status = SourceStatus(settings.source, "starting")
        self.window = RecentWindow(settings.recent_window_posts, settings.recent_window_seconds)
        self._index = QueryIndex()
        self._index_lock = threading.Lock()
        self._watched: dict[str, Query] = {}
        self._problems: dict[str, str] = {}
        self._problems_dirty = False
        self._source_told = False
        self._embeds_requested: OrderedDict[str, None] = OrderedDict()
        self._embed_pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="embed")
        self._backfill_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="backfill")
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._writes: queue.Queue[Write] = queue.Queue(WRITE_QUEUE_SIZE)
        self._writer: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> Ingester:
        """Run in a background thread (a greenlet under gevent)."""
        self._thread = threading.Thread(target=self.run, name="ingester", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self.source is not None:
            self.source.close()
        if self._thread is not None:
            self._thread.join(timeout)

    def wake(self) -> None:
        """Look at the watched queries now (a page just asked for a new one)."""
        self._wake.set()

    def flush(self) -> None:
        """Wait until everything the source delivered so far (``counters.posts_received``) is stored."""
        self._writes.join()

    def run(self) -> None:
        """Take the lock (waiting as a standby), run the source, keep it in step; until stopped."""
        try:
            while not self._stop.is_set():
                if not self._take_lock():
                    self.set_status(SourceStatus(self.settings.source, "standby", "another ingester is active"))
                    self._publish_state()
                    self._stop.wait(self.lock_ttl / 3)
                    continue
                self._run_source()
        finally:
            self._embed_pool.shutdown(wait=False, cancel_futures=True)
            self._backfill_pool.shutdown(wait=False, cancel_futures=True)
            try:
                self.store.release_lock(LOCK_NAME, self.holder)
            except Exception:  # the store may be gone at shutdown; the lock expires by itself
                log.debug("could not release the ingester lock", exc_info=True)

    def _take_lock(self) -> bool | None:
        """True: ours. False: another ingester holds it. None: the store does not answer (nobody can take it)."""
        try:
            return self.store.acquire_lock(LOCK_NAME, self.holder, self.lock_ttl)
        except StoreUnavailable as exc:
            log.warning("store unavailable while taking the ingester lock: %s", exc)
            return None

    def _run_source(self) -> None:
        log.info("ingester %s is active (source: %s)", self.holder, self.settings.source)
        source = self.source_factory(self)
        self.source = source
        self._watched = {}
        self._source_told = False
        source_stop = threading.Event()
        self._writer = threading.Thread(target=self._write_loop, name="store-writer", daemon=True)
        self._writer.start()
        thread = threading.Thread(target=self._run_source_thread, args=(source, source_stop), name="source")
        thread.start()
        last_trim = time.monotonic()
        try:
            while not self._stop.is_set() and thread.is_alive():
                locked = self._take_lock()
                if locked is False:
                    log.error("ingester %s lost its lock to another: stopping the source", self.holder)
                    return
                self._sync_watched()
                self._publish_state()
                if time.monotonic() - last_trim > 60:
                    last_trim = time.monotonic()
                    self._trim()
                self._wake.wait(min(self.tick, self.lock_ttl / 3))
                self._wake.clear()
            # the source stopped by itself (a fatal error): keep publishing its status until stopped
            while not self._stop.is_set():
                self._take_lock()
                self._publish_state()
                self._stop.wait(self.lock_ttl / 3)
        finally:
            source_stop.set()
            source.close()
            thread.join(timeout=10)
            self._writes.put(None)  # after what the source delivered: the writer stores it all, then ends
            self._writer.join()

    def _run_source_thread(self, source: Source, stop: threading.Event) -> None:
        try:
            source.run(stop)
        except Exception as exc:
            log.exception("source %s crashed", source.name)
            self.set_status(SourceStatus(source.name, "stopped", f"internal error: {type(exc).__name__}"))

    # -- watched queries --------------------------------------------------------------------------
    def _sync_watched(self) -> None:
        try:
            watched = {w.key: w.text for w in self.store.watched()}
        except StoreUnavailable as exc:
            log.warning("store unavailable: %s", exc)
            return
        added = [key for key in watched if key not in self._watched]
        removed = [key for key in self._watched if key not in watched]
        if not added and not removed and self._source_told:
            return
        source = self.source
        assert source is not None
        for key in removed:
            del self._watched[key]
            with self._index_lock:
                self._index.remove(key)
            self._problems.pop(key, None)
        for key in added:
            try:
                query = parse(watched[key])
            except QueryError as exc:  # the web validates first; a stale or tampered lease ends here
                log.warning("ignoring an invalid watched query %r: %s", key, exc)
                continue
            unsupported = query.unsupported(source.capabilities) if source.routes_locally else []
            if unsupported:
                self.set_query_problem(key, f"{', '.join(unsupported)} cannot be evaluated on {source.name} posts")
                continue
            self._watched[key] = query
            if source.routes_locally:
                with self._index_lock:
                    self._index.add(key, query)
            newest = self._newest(key)
            if newest:  # watched before this ingester started: fill the gap instead of a backfill
                source.resume(key, newest)
            self._backfill_pool.submit(self._backfill, key, query, bool(newest))
        self.counters.watched_queries = len(self._watched)
        source.set_watched(dict(self._watched))
        self._source_told = True
        log.info("watching %d queries (+%d, -%d)", len(self._watched), len(added), len(removed))

    def _backfill(self, key: str, query: Query, resumed: bool) -> None:
        source = self.source
        if source is None:
            return
        posts: list[Post] = []
        if not resumed:
            posts = source.backfill(key, query, BACKFILL_LIMIT)  # the service's search, where it has one
            self.counters.add("posts_received", len(posts))
        if source.routes_locally:
            posts += self.window.newest_matches(query, self.settings.keep_per_query)
        if posts:
            self._store_many(list(reversed(posts)), [key])

    # -- the Sink interface (called by the source) ---------------------------------------------------
    def deliver(self, post: Post, query_keys: list[str] | None = None) -> None:
        """Route one post from the source and hand it to the writer (which stores it, then asks for its embed).

        It is counted as received once handed over, so that after :meth:`flush` every post counted is stored.
        """
        try:
            if post.extra.get("adult") and not self.settings.bluesky_show_adult:
                return  # self-labelled adult content stays off the wall unless the operator shows it
            if query_keys is None:
                self.window.add(post)
                with self._index_lock:
                    query_keys = self._index.match(post)
            if query_keys:
                self._write((post, query_keys))
        finally:
            self.counters.add("posts_received")

    def delete(self, post_key: str) -> None:
        self.window.remove(post_key)
        self._write(lambda: self._with_store_retry(lambda: self.store.delete_post(post_key)))

    def set_status(self, status: SourceStatus) -> None:
        self.status = status
        self._wake.set()

    def count_reads(self, posts: int) -> None:
        self.counters.add("source_reads", posts)

    def count_reconnect(self) -> None:
        self.counters.add("source_reconnects")

    def set_query_problem(self, query_key: str, problem: str | None) -> None:
        if self._problems.get(query_key) != problem:
            if problem is None:
                self._problems.pop(query_key, None)
            else:
                self._problems[query_key] = problem
            self._problems_dirty = True
            self._wake.set()

    def newest_post_id(self, query_key: str) -> str | None:
        return self._newest(query_key)

    def _newest(self, query_key: str) -> str | None:
        latest: list[Post] = self._with_store_retry(lambda: self.store.latest(query_key, 1))
        return latest[0].id if latest else None

    def load_state(self, name: str) -> Any:
        return self._with_store_retry(lambda: self.store.get_state(f"source:{name}"))

    def save_state(self, name: str, value: Any) -> None:
        # In order with the posts: a resume cursor is never stored ahead of the posts it covers.
        self._write(lambda: self._with_store_retry(lambda: self.store.set_state(f"source:{name}", value)))

    # -- storing ------------------------------------------------------------------------------------
    def _write(self, item: Write) -> None:
        """Hand a store write to the writer (waiting while its queue is full), in the source's order."""
        writer = self._writer
        if writer is None or not writer.is_alive():  # no source running (a straggler): store it now
            self._apply_writes([item])
            return
        self._writes.put(item)

    def _write_loop(self) -> None:
        """Store what the source delivers, in order. Posts that queued up while the previous transaction
        ran go together in the next one (group commit): one post alone waits for nothing, a burst costs one
        commit per batch rather than one per post."""
        ended = False
        while not ended:
            items = [self._writes.get()]
            while items[-1] is not None and len(items) < WRITE_BATCH:
                try:
                    items.append(self._writes.get_nowait())
                except queue.Empty:
                    break
            ended = items[-1] is None
            try:
                self._apply_writes(items)
            except StoreUnavailable as exc:  # only while stopping: the source resumes from what is stored
                log.warning("stopping with %d write(s) not stored: %s", len(items), exc)
            except Exception:
                log.exception("storing %d write(s) failed", len(items))
            finally:
                for _ in items:
                    self._writes.task_done()
        self._store_stragglers()

    def _store_stragglers(self) -> None:
        """What a source that did not stop in time queued after the end marker (later ones are stored at
        once by :meth:`_write`, which sees the writer gone)."""
        while True:
            try:
                item = self._writes.get_nowait()
            except queue.Empty:
                return
            try:
                self._apply_writes([item])
            except Exception:
                log.exception("storing a late write failed")
            finally:
                self._writes.task_done()

    def _apply_writes(self, items: list[Write]) -> None:
        matches: list[tuple[Post, list[str]]] = []
        for item in items:
            if isinstance(item, tuple):
                matches.append(item)
                continue
            if matches:
                self._store_matches(matches)
                matches = []
            if item is not None:
                item()
        if matches:
            self._store_matches(matches)

    def _store_many(self, posts: list[Post], query_keys: list[str]) -> None:
        self._store_matches([(post, query_keys) for post in posts])

    def _store_matches(self, matches: list[tuple[Post, list[str]]]) -> None:
        """Store posts with their queries (one transaction), then ask for the embeds of the new ones."""
        for post, _ in matches:
            if self.source is not None:
                self.source.prepare(post)
            if post.source == "bluesky" and post.embed_html is None:
                post.embed_html = bluesky_blockquote(post)  # built from the event itself: no request
        results = self._with_store_retry(lambda: self.store.save_matches(matches))
        for (post, _), newly in zip(matches, results, strict=True):
            if not newly:
                self.counters.add("duplicates_skipped")
                continue
            self.counters.add("posts_matched", len(newly))
            if post.embed_html is None and self.embedder is not None:
                self._request_embed(post)

    def _request_embed(self, post: Post) -> None:
        if post.key in self._embeds_requested:
            return
        self._embeds_requested[post.key] = None
        if len(self._embeds_requested) > 100_000:
            self._embeds_requested.popitem(last=False)
        self._embed_pool.submit(self._fetch_embed, post)

    def _fetch_embed(self, post: Post) -> None:
        assert self.embedder is not None
        embed_html = self.embedder.fetch(post)
        if embed_html is None:
            self.counters.add("embeds_failed")
            return
        self.counters.add("embeds_fetched")
        self._with_store_retry(lambda: self.store.set_embed(post.key, embed_html))

    def _with_store_retry(self, call: Callable[[], Any]) -> Any:
        """Run a store call, waiting out an unavailable store: what reached the ingester is not dropped."""
        policy = ReconnectPolicy(jitter=0.2)
        while True:
            try:
                return call()
            except StoreUnavailable as exc:
                if self._stop.is_set():
                    raise
                delay = max(policy.delay("network"), 0.1)
                log.warning("store unavailable (%s): retrying in %.1f s", exc, delay)
                self._stop.wait(delay)

    # -- housekeeping ---------------------------------------------------------------------------------
    def _publish_state(self) -> None:
        try:
            if self._problems_dirty:
                self._problems_dirty = False
                self.store.set_state(PROBLEMS_STATE, dict(self._problems))
            self.store.set_state(
                STATE_NAME,
                {
                    "holder": self.holder,
                    "heartbeat": time.time(),
                    "status": self.status.to_json(),
                    "counters": self.counters.snapshot(),
                },
            )
        except StoreUnavailable as exc:
            log.warning("cannot publish the ingester state: %s", exc)

    def _trim(self) -> None:
        try:
            self.store.trim(self.settings.keep_per_query, max(self.settings.recent_window_seconds, 3600.0))
        except StoreUnavailable as exc:
            log.warning("cannot trim the store: %s", exc)
