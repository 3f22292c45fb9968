"""One open filtered-stream connection of the fake X, written byte by byte the unkind way X does.

The response is hand-written HTTP/1.1 chunked transfer encoding so that chunk boundaries fall anywhere:
``split_points`` cuts each buffer at random (seeded) byte offsets and, most of the time, also once inside a
multi-byte UTF-8 character and once between the ``\\r`` and ``\\n`` of a line end. Messages published while
the writer is busy, or inside ``FakeX.batch()``, go out in one buffer, so one chunk can hold several
messages (and a keep-alive can share a chunk with a message). Each chunk is a separate ``sendall`` on a
``TCP_NODELAY`` socket.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import random
import select
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .x_render import Fields

KEEPALIVE = b"\r\n"
TERMINATOR = b"0\r\n\r\n"


def encode_line(message: dict[str, Any]) -> bytes:
    """One compact JSON object, raw UTF-8 (not ``\\u`` escapes), ended by ``\\r\\n``."""
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode() + b"\r\n"


def split_points(buffer: bytes, rng: random.Random) -> list[int]:
    """Offsets (sorted, within 1..len-1) where ``buffer`` is cut into chunks."""
    size = len(buffer)
    if size <= 1:
        return []
    cuts = {rng.randint(1, size - 1) for _ in range(rng.randint(0, 3))}
    inside_characters = [i for i in range(1, size) if buffer[i] & 0xC0 == 0x80]
    if inside_characters and rng.random() < 0.7:
        cuts.add(rng.choice(inside_characters))
    between_cr_lf = [i + 1 for i in range(size - 1) if buffer[i : i + 2] == b"\r\n"]
    if between_cr_lf and rng.random() < 0.7:
        cuts.add(rng.choice(between_cr_lf))
    return sorted(cuts)


def split(buffer: bytes, rng: random.Random) -> list[bytes]:
    """``buffer`` cut at ``split_points``."""
    edges = [0, *split_points(buffer, rng), len(buffer)]
    return [buffer[a:b] for a, b in itertools.pairwise(edges)]


def chunk(data: bytes) -> bytes:
    """One chunk of the chunked transfer encoding."""
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


@dataclass
class Outgoing:
    """A line waiting to be written: the bytes, and the JSON object when it is a message."""

    line: bytes
    message: dict[str, Any] | None = None


@dataclass
class StreamSession:
    """The state of one open stream; ``run`` executes on the request's handler thread.

    All fields except ``sock``/``wfile`` are guarded by the fake's lock (``lock``); ``wake()`` interrupts the
    writer's wait after a change.
    """

    sock: socket.socket
    write: Callable[[bytes], object]
    fields: Fields
    rng: random.Random
    lock: threading.Condition
    keepalive_interval: float
    on_written: Callable[[list[Outgoing], bool], None]  # (items, keepalive) after a successful write
    compressor: Any = None  # a zlib compressobj when the body is gzip-encoded (each write flushed)
    pending: list[Outgoing] = field(default_factory=list)
    control: str | None = None  # "drop", "drop-mid-line", "reset", "disconnect:<type>", "stop", "kill"
    disconnect_message: bytes = b""
    stalled: bool = False
    stall_seen: bool = False  # the writer has noticed the stall (no write is in progress any more)
    dead: bool = False
    ended_by: str = ""

    def __post_init__(self) -> None:
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)

    def wake(self) -> None:
        """Interrupt the writer's wait (call after changing state under the lock)."""
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")

    def enqueue(self, item: Outgoing) -> None:
        """Queue a line (caller holds the lock); lost if the stream is stalled, as on a dead connection."""
        if not self.stalled and not self.dead and self.control is None:
            self.pending.append(item)
            self.wake()

    def _send(self, buffer: bytes) -> None:
        if self.compressor is not None:
            buffer = self.compressor.compress(buffer) + self.compressor.flush(zlib.Z_SYNC_FLUSH)
        for piece in split(buffer, self.rng):
            self.write(chunk(piece))

    def run(self) -> str:
        """Write until told to stop or the client goes away; returns how the stream ended."""
        try:
            self.ended_by = self._loop()
        except (OSError, TimeoutError):
            self.ended_by = "client-gone"
        finally:
            self.close()
        return self.ended_by

    def close(self) -> None:
        """Release the wake-up socket pair (idempotent)."""
        self._wake_r.close()
        self._wake_w.close()

    def _loop(self) -> str:
        last_write = time.monotonic()
        while True:
            with self.lock:
                control, stalled = self.control, self.stalled
                if stalled and not self.stall_seen:
                    self.stall_seen = True
                    self.lock.notify_all()
                items, self.pending = ([], self.pending) if stalled else (self.pending, [])
            if control is not None:
                return self._finish(control, items)
            if items:
                self._send(b"".join(item.line for item in items))
                last_write = time.monotonic()
                self.on_written(items, False)
                continue
            timeout = None if stalled else last_write + self.keepalive_interval - time.monotonic()
            if timeout is not None and timeout <= 0:
                self._send(KEEPALIVE)
                last_write = time.monotonic()
                self.on_written([], True)
                continue
            readable, _, _ = select.select([self.sock, self._wake_r], [], [], timeout)
            if self.sock in readable and self._client_closed():
                return "client-gone"
            if self._wake_r in readable:
                try:
                    while self._wake_r.recv(4096):
                        pass
                except BlockingIOError:
                    pass

    def _client_closed(self) -> bool:
        try:
            data = self.sock.recv(4096, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return False
        return data == b""

    def _finish(self, control: str, items: list[Outgoing]) -> str:
        if control == "drop-mid-line":
            line = items[0].line if items else b""
            if line:
                cut = len(line) // 2
                inside = [i for i in range(len(line) // 3, 2 * len(line) // 3) if line[i] & 0xC0 == 0x80]
                if inside:
                    cut = self.rng.choice(inside)
                self._send(line[:cut])
            self._abort(reset=False)
            return "dropped"
        if control in ("drop", "stop", "kill"):
            self._abort(reset=False)
            return control
        if control == "reset":
            self._abort(reset=True)
            return "reset"
        if control.startswith("disconnect:"):
            self._send(self.disconnect_message)
            self.write(TERMINATOR)
            return control
        return control

    def _abort(self, reset: bool) -> None:
        """Close without the terminating chunk: the client sees an incomplete body (FIN), or a RST."""
        if reset:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.sock.close()
        else:
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)
