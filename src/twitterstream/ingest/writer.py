"""The single writer: stores what the sources deliver, in their order, a burst in one transaction."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from twitterstream.models import Post
from twitterstream.sources.reconnect import Backoff, ReconnectPolicy
from twitterstream.store import StoreUnavailable

log = logging.getLogger(__name__)

#: Items a source may hand over before it waits for the store: back-pressure.
WRITE_QUEUE_SIZE = 10_000
#: Most queued items stored in one transaction.
WRITE_BATCH = 500

#: A post with the keys of the queries it matched.
Match = tuple[Post, list[str]]
#: What the writer stores: a match, another store call to make in order, or None (the end).
Write = Match | Callable[[], Any] | None

T = TypeVar("T")


class StoreOutage:
    """Whether the store answered the ingester's last call: logs an outage once when it begins (or its
    cause changes) and once when it ends, however many calls retry in between (thread-safe)."""

    def __init__(self) -> None:
        self.problem: str | None = None
        self._lock = threading.Lock()

    def failed(self, exc: StoreUnavailable) -> None:
        with self._lock:
            if self.problem == str(exc):
                return
            self.problem = str(exc)
        log.warning("store unavailable: %s (the ingester keeps what it receives and retries)", exc)

    def answered(self) -> None:
        if self.problem is None:  # the usual case: no lock
            return
        with self._lock:
            if self.problem is None:
                return
            self.problem = None
        log.info("the store answers again")


def retry_store(call: Callable[[], T], stop: threading.Event, outage: StoreOutage | None = None) -> T:
    """Run a store call, waiting out an unavailable store (what reached the ingester is not dropped).

    Backs off as a network reconnect does (at most 16 s between tries). Raises :class:`StoreUnavailable`
    only once ``stop`` is set.
    """
    outage = outage or StoreOutage()
    policy: ReconnectPolicy | None = None  # made at the first failure: most calls succeed at once
    while True:
        try:
            result = call()
        except StoreUnavailable as exc:
            if stop.is_set():
                raise
            outage.failed(exc)
            policy = policy or ReconnectPolicy(jitter=0.2)
            stop.wait(max(policy.delay(Backoff.NETWORK), 0.1))
            continue
        outage.answered()
        return result


class StoreWriter:
    """Stores matches and other writes in the order they were handed over, from one thread.

    Items that queued up while the previous transaction ran go together in the next one (group commit):
    one post alone waits for nothing, a burst costs one commit per batch rather than one per post.
    ``store_matches`` does the storing of a batch of matches; other writes are callables run in order.
    """

    def __init__(self, store_matches: Callable[[list[Match]], None]) -> None:
        self._store_matches = store_matches
        self._queue: queue.Queue[Write] = queue.Queue(WRITE_QUEUE_SIZE)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="store-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Store everything handed over so far, then end."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()

    def put(self, item: Match | Callable[[], Any]) -> None:
        """Hand a write over (waiting while the queue is full). With the writer not running (a straggler
        after a stop), it is stored at once."""
        thread = self._thread
        if thread is None or not thread.is_alive():
            self._apply([item])
            return
        self._queue.put(item)

    def put_many(self, items: list[Match]) -> None:
        """Hand several writes over, in their order (a new query's first posts)."""
        thread = self._thread
        if thread is None or not thread.is_alive():
            self._apply(list(items))
            return
        for item in items:
            self._queue.put(item)

    def flush(self) -> None:
        """Wait until everything handed over so far is stored."""
        self._queue.join()

    def _loop(self) -> None:
        ended = False
        while not ended:
            items = [self._queue.get()]
            while items[-1] is not None and len(items) < WRITE_BATCH:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            ended = items[-1] is None
            try:
                self._apply(items)
            except StoreUnavailable as exc:  # only while stopping: the source resumes from what is stored
                log.warning("stopping with %d write(s) not stored: %s", len(items), exc)
            except Exception:
                log.exception("storing %d write(s) failed", len(items))
            finally:
                for _ in items:
                    self._queue.task_done()
        self._store_stragglers()

    def _store_stragglers(self) -> None:
        """What a source that did not stop in time queued after the end marker (later ones are stored at
        once by :meth:`put`, which sees the writer gone)."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            try:
                self._apply([item])
            except Exception:
                log.exception("storing a late write failed")
            finally:
                self._queue.task_done()

    def _apply(self, items: list[Write]) -> None:
        matches: list[Match] = []
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
