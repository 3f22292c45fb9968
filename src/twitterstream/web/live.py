"""Live fan-out inside one web process: one follower reads the store, every open stream gets a copy.

However many people watch a query, this process reads each of its events from the store once, formats
it as an SSE message once, and appends it once to the query's channel, which every open stream of that
query reads from. The follower also renews this process's lease on every query it serves (with the
number of viewers), and broadcasts the source's status when it changes.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
import weakref
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from twitterstream.store import Event, EventKind, StoreUnavailable, cursor_order
from twitterstream.web.channel import KEEPALIVE, STATUS_ORDER, Channel, Message, Subscription
from twitterstream.web.connection import connection_closed
from twitterstream.web.sse import format_event_or_skip, format_status, post_body

log = logging.getLogger(__name__)


class LiveSource(Protocol):
    """What the hub reads: a :class:`~twitterstream.store.Store`, or a view of one (moderation's feeds)."""

    def head_cursor(self, query_key: str) -> str: ...
    def wait_for_events(self, cursors: Mapping[str, str], timeout: float) -> list[Event]: ...
    def watch(self, query_key: str, query_text: str, holder: str, viewers: int, ttl: float) -> None: ...


_HUBS: weakref.WeakSet[LiveHub] = weakref.WeakSet()


def stop_all_hubs() -> None:
    """End every open live stream of this process (it is shutting down)."""
    for hub in list(_HUBS):
        hub.stop()


class LiveHub:
    """Fan-out of the store's live channel to this process's open streams."""

    def __init__(
        self,
        store: LiveSource,
        *,
        grace_seconds: float,
        read_status: Callable[[], dict[str, Any]],
        on_new_query: Callable[[], None] | None = None,
        heartbeat_seconds: float = 15.0,
        max_pending: int = 1000,
        formatter: Callable[[Event], bytes | None] = format_event_or_skip,
        on_heartbeat: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.formatter = formatter  # moderation's feeds format what their audience may see
        self.grace_seconds = grace_seconds
        self.read_status = read_status
        self.on_new_query = on_new_query
        self.heartbeat_seconds = heartbeat_seconds
        self.max_pending = max_pending
        self.on_heartbeat = on_heartbeat  # renews what this process's open streams hold (their places)
        self.holder = f"web:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._subscribers: dict[str, set[Subscription]] = defaultdict(set)
        self._channels: dict[str, Channel] = {}
        self._texts: dict[str, str] = {}
        self._cursors: dict[str, str] = {}
        self._lock = threading.Lock()
        self._renew_lock = threading.Lock()  # lease writes one at a time, each with the count at that moment
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()
        self._status_text = b""
        self.status: dict[str, Any] = {}
        self._round = threading.Event()  # set when a round of publishing is over (streams of several queries)
        _HUBS.add(self)

    # -- subscribers ------------------------------------------------------------------------------
    def subscribe(
        self, query_key: str, query_text: str, client_fd: int | None = None, *, group: object | None = None
    ) -> Subscription:
        """Start receiving a query's events (from the store's head at this moment on).

        ``client_fd``, the viewer's socket, lets the hub notice within a second that the viewer left
        (otherwise only the next keep-alive written to a closed connection tells). ``group``: the stream of several
        queries this is one of (it reads with :meth:`Subscription.take` of settled messages, see :attr:`round_ready`).
        """
        with self._lock:
            first = not self._subscribers.get(query_key)
            if first:
                self._cursors[query_key] = self.store.head_cursor(query_key)
                self._texts[query_key] = query_text
                self._channels[query_key] = Channel(self.max_pending)
                if self._stopped.is_set():
                    self._channels[query_key].close()  # shutting down: the browser goes to another replica
            subscription = Subscription(query_key, self._channels[query_key], client_fd, group)
            self._subscribers[query_key].add(subscription)
        self._renew(query_key, query_text)
        if first and self.on_new_query is not None:
            self.on_new_query()
        self._ensure_follower()
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        key = subscription.query_key
        with self._lock:
            subscribers = self._subscribers.get(key)
            if not subscribers or subscription not in subscribers:
                return
            subscribers.discard(subscription)
            subscription.channel.leave(subscription.merged)
            text = self._texts.get(key, key)
            if not subscribers:
                del self._subscribers[key]
                self._channels.pop(key, None)
                self._cursors.pop(key, None)
                self._texts.pop(key, None)
        self._renew(key, text)

    @property
    def round_ready(self) -> threading.Event:
        """Set when the current round of publishing is over: take it *before* reading the settled messages."""
        return self._round

    def _end_round(self, channels: Iterable[Channel]) -> None:
        """Settle what was just published on ``channels`` and wake the streams of several queries."""
        for channel in channels:
            channel.settle()
        with self._lock:
            woken, self._round = self._round, threading.Event()
        woken.set()

    def open_streams(self) -> int:
        """Open live streams (a stream of several queries counts once)."""
        with self._lock:
            return len({id(s.group or s) for subs in self._subscribers.values() for s in subs})

    def stop(self, timeout: float = 5.0) -> None:
        """End every open stream and the follower (before the store is closed)."""
        self._stopped.set()
        with self._lock:
            channels = list(self._channels.values())
            thread = self._thread
        for channel in channels:
            channel.close()
        self._end_round(())
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    # -- the follower -----------------------------------------------------------------------------
    def _ensure_follower(self) -> None:
        with self._lock:
            if self._stopped.is_set():
                return
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._follow, name="live-hub", daemon=True)
                self._thread.start()

    def _follow(self) -> None:
        wait = min(0.5, self.heartbeat_seconds / 2)
        # a heartbeat is due up to one wait late: schedule it that much early, so that no stream goes longer
        # than heartbeat_seconds without a keep-alive (the contract says at least every 15 s)
        interval = self.heartbeat_seconds - wait
        next_heartbeat = time.monotonic() + interval
        next_status = 0.0
        failures = 0
        while not self._stopped.is_set():
            try:
                with self._lock:
                    cursors = dict(self._cursors)
                if time.monotonic() >= next_status:
                    next_status = time.monotonic() + 1.0
                    self._refresh_status()  # a store that does not answer costs at most its timeout here
                    self._end_gone_streams()
                try:
                    events = self.store.wait_for_events(cursors, timeout=wait) if cursors else []
                    with self._lock:
                        grown = {key: cursor for key, cursor in self._cursors.items() if key not in cursors}
                    if grown and events:
                        # queries subscribed during the wait: read again with them, so that what one write stored
                        # for several queries comes in one batch (a stream of several queries sends it once)
                        cursors.update(grown)
                        events = self.store.wait_for_events(cursors, timeout=0)
                except (StoreUnavailable, OSError) as exc:
                    failures += 1
                    if failures == 1:  # once per outage; open streams stay open and keep getting keep-alives
                        log.warning("live channel: store unavailable (%s)", exc)
                    events = []
                    # back off, but never past the next keep-alive: streams must not look dead to proxies
                    self._stopped.wait(min(0.25 * failures, 5.0, max(next_heartbeat - time.monotonic(), 0.0)))
                else:
                    if failures:
                        log.info("live channel: the store answers again")
                    failures = 0
                if not cursors:
                    self._stopped.wait(wait)
                self._dispatch(events)
                if time.monotonic() >= next_heartbeat:
                    next_heartbeat = time.monotonic() + interval
                    self._heartbeat()
            except Exception:  # the streams' keep-alives depend on this loop: it must go on
                log.exception("live channel: unexpected error")
                self._stopped.wait(1.0)

    def _dispatch(self, events: list[Event]) -> None:
        """Publish a batch of the store's events, then settle it as one round: the matches a writer stored
        together reach a stream of several queries together."""
        published: dict[int, Channel] = {}
        bodies: dict[str, bytes] = {}  # each post's JSON encoded once, for streams of several queries

        def encode(event: Event) -> bytes | None:
            if event.kind != EventKind.POST or event.post is None:
                return None
            if event.post_key not in bodies:
                bodies[event.post_key] = post_body(event.post)
            return bodies[event.post_key]

        for event in events:
            text = self.formatter(event)
            order = event.order
            with self._lock:
                if event.query_key in self._cursors and order > cursor_order(self._cursors[event.query_key]):
                    self._cursors[event.query_key] = event.cursor
                channel = self._channels.get(event.query_key)
            if text is not None and channel is not None:
                channel.publish(Message(order, text), event, encode)
                published[id(channel)] = channel
        if published:
            self._end_round(published.values())

    def _heartbeat(self) -> None:
        """Keep-alives to every open stream, and this process's leases renewed."""
        with self._lock:
            texts = {key: self._texts.get(key, key) for key in self._subscribers}
            channels = list(self._channels.values())
        for channel in channels:
            channel.publish(KEEPALIVE)
        self._end_round(channels)
        if self.on_heartbeat is not None:
            self.on_heartbeat()
        for key, text in texts.items():
            if not self._renew(key, text):
                break  # the store does not answer: each other lease would wait as long; next heartbeat retries

    def _renew(self, key: str, text: str) -> bool:
        """Write this process's lease on a query with its number of open streams as it is now; False when the
        store does not answer (logged).

        The count is read under the renew lock, at the moment of writing: a count taken earlier (a heartbeat
        racing with the last viewer's departure) would be written last and stay for the whole grace period.
        """
        with self._renew_lock:
            with self._lock:
                viewers = len(self._subscribers.get(key, ()))
            try:
                self.store.watch(key, text, self.holder, viewers, self.grace_seconds)
            except StoreUnavailable as exc:
                log.warning("cannot renew the lease on %r: %s", key, exc)
                return False
        return True

    def _end_gone_streams(self) -> None:
        """End the streams whose viewer closed the connection, so that the viewer count drops at once."""
        with self._lock:
            watched = [s for subs in self._subscribers.values() for s in subs if s.client_fd is not None]
        for subscription in watched:
            if subscription.client_fd is not None and connection_closed(subscription.client_fd):
                subscription.gone = True
                self.unsubscribe(subscription)
                subscription.channel.wake()
                self._end_round(())

    def _refresh_status(self) -> None:
        try:
            status = dict(self.read_status())
        except Exception:  # status is best effort; the stream goes on
            log.debug("cannot read the source status", exc_info=True)
            return
        status.pop("counters", None)  # they change with every post: not a status change
        text = format_status(status)
        if text == self._status_text:
            return
        self._status_text = text
        self.status = status
        with self._lock:
            channels = list(self._channels.values())
        for channel in channels:
            channel.publish(Message(STATUS_ORDER, text, status=status))
        self._end_round(channels)
