"""One query's live channel inside a web process: its recent messages, and the streams that read them.

The live hub (``live.py``) appends each message once; every open stream of the query keeps only its position.
A stream of several queries (``merged_stream.py``) reads several channels and must see a store batch whole
(a post matching two of its queries arrives on both channels at once): the hub *settles* a channel when a
round of publishing is over, and such a reader reads only what is settled.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any, NamedTuple

from twitterstream.store import Event


class Message(NamedTuple):
    """What a stream reads from its query's channel: the event's order and its SSE bytes, as sent; the event
    itself (and a post's JSON, encoded once for all of them) only on a channel that a stream of several
    queries reads: it formats its own messages. A status message keeps its ``status``: each stream sends it
    with the networks of its own queries (``query_status.StatusScope``)."""

    order: tuple[int, int]
    text: bytes
    event: Event | None = None
    body: bytes | None = None
    status: dict[str, Any] | None = None


def _nothing(event: Event) -> None:
    return None


#: Ends the stream (the hub stops, or the reader was overtaken and must resume by Last-Event-ID).
CLOSE = Message((-1, -1), b"")
STATUS_ORDER = (-2, -2)  # status messages are not ordered with the events
#: Sent to every open stream each heartbeat: proxies keep the connection, and a gone reader is noticed.
KEEPALIVE = Message((-3, -3), b": keep-alive\n\n")


class Channel:
    """The recent messages of one query in this process, shared by all its open streams.

    Publishing appends once and wakes every reader with one event (a thousand readers cost one ``set``,
    not a thousand queue puts); each reader keeps only its position. A reader that falls ``max_pending``
    messages behind is cut off: its browser reconnects with Last-Event-ID and resumes from the store.
    """

    __slots__ = ("closed", "first", "lock", "max_pending", "merged", "messages", "ready", "settled")

    def __init__(self, max_pending: int) -> None:
        self.max_pending = max_pending
        self.messages: deque[Message] = deque()
        self.first = 0  # the sequence number of messages[0]
        self.lock = threading.Lock()
        self.ready = threading.Event()
        self.closed = False
        self.merged = 0  # open streams of several queries reading this channel: they need each message's event
        self.settled = 0  # the messages before this sequence number belong to finished publishing rounds

    @property
    def end(self) -> int:
        """The sequence number the next message will have."""
        return self.first + len(self.messages)

    def publish(
        self, message: Message, event: Event | None = None, encode: Callable[[Event], bytes | None] = _nothing
    ) -> None:
        """Append ``message``; with ``event`` and its post's JSON (``encode``, called only then) attached when a
        stream of several queries reads this channel."""
        with self.lock:
            if event is not None and self.merged:
                message = Message(message.order, message.text, event, encode(event))
            self.messages.append(message)
            if len(self.messages) > self.max_pending:
                self.messages.popleft()
                self.first += 1
            woken = self._next_round()
        woken.set()

    def settle(self) -> None:
        """A round of publishing is over: readers of several channels may read what it published."""
        with self.lock:
            self.settled = self.end

    def close(self) -> None:
        with self.lock:
            self.closed = True
            woken = self._next_round()
        woken.set()

    def wake(self) -> None:
        """Wake every reader without a message (one of them is gone: it notices and ends)."""
        with self.lock:
            woken = self._next_round()
        woken.set()

    def join(self, merged: bool) -> int:
        """A new reader's position: what is published from now on (a merged reader gets the events)."""
        with self.lock:
            if merged:
                self.merged += 1
            return self.end

    def leave(self, merged: bool) -> None:
        if merged:
            with self.lock:
                self.merged = max(self.merged - 1, 0)

    def read(self, position: int, settled_only: bool = False) -> Message | None:
        """The message at ``position``; CLOSE when it is gone (overtaken) or the channel closed; None when
        it is not published (or, with ``settled_only``, not settled) yet."""
        with self.lock:
            if self.closed or position < self.first:
                return CLOSE
            if position < (self.settled if settled_only else self.end):
                return self.messages[position - self.first]
            return None

    def _next_round(self) -> threading.Event:
        """Swap in a fresh event (under the lock) and return the one readers are waiting on: they took it
        before they last looked, so whatever was just published wakes them (see Subscription.get)."""
        woken, self.ready = self.ready, threading.Event()
        return woken


class Subscription:
    """One open live stream of a query: its channel and the position of the next message it reads."""

    __slots__ = ("channel", "client_fd", "dropped", "gone", "group", "position", "query_key")

    def __init__(
        self, query_key: str, channel: Channel, client_fd: int | None = None, group: object | None = None
    ) -> None:
        self.query_key = query_key
        self.channel = channel
        self.group = group  # the stream of several queries it is one of (it reads with ``take``), or None
        self.position = channel.join(self.merged)  # only what is published from now on
        self.dropped = False
        self.client_fd = client_fd  # the viewer's connection, to notice at once when it closes
        self.gone = False  # the viewer closed the connection

    @property
    def merged(self) -> bool:
        """Whether a stream of several queries reads it (it needs each message's event)."""
        return self.group is not None

    def get(self, timeout: float | None = None) -> Message | None:
        """The next message (keep-alives included), or None after ``timeout`` seconds."""
        while True:
            ready = self.channel.ready  # before reading: a publish after the read sets this one
            if self.gone:
                return CLOSE
            message = self.take()
            if message is not None:
                return message
            if not ready.wait(timeout):
                return None

    def take(self, settled_only: bool = False) -> Message | None:
        """The next message if there is one (settled, with ``settled_only``), without waiting; CLOSE when the
        stream must end (shut down, overtaken, or the viewer left)."""
        if self.gone:
            return CLOSE
        message = self.channel.read(self.position, settled_only)
        if message is CLOSE:
            self.dropped = not self.channel.closed  # overtaken, not shut down
            return CLOSE
        if message is not None:
            self.position += 1
        return message
