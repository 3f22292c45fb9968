"""The fake Jetstream's memory: every event it has published, numbered as a v1 host (``time_us``) and a v2 host
(a sequence number, ``cursor``) number them, and the replay a ``cursor`` asks for.

A v1 ``cursor`` replays every event with ``time_us >= cursor``, oldest first. On a v2 host a cursor below
10^15 is a sequence number instead (``seq >= cursor``); at or above it, a v1 time as before. The caller holds
the fake's lock around every call.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .jetstream_events import encode_event

#: Cursors below this are v2 sequence numbers, at or above it v1 microsecond timestamps (v2 hosts only).
CURSOR_SEQ_MAX = 1_000_000_000_000_000


@dataclass(slots=True)
class StoredEvent:
    """One event in the fake's history, with what the filters look at."""

    time_us: int
    seq: int
    did: str
    kind: str
    collection: str
    text: str
    size: int


class EventHistory:
    """The published events in publish order; ``v2_cursor`` adds the v2 hosts' ``cursor`` to each event, counting
    from ``first_seq`` (each v2 instance numbers its events independently)."""

    def __init__(self, *, v2_cursor: bool = False, first_seq: int = 1) -> None:
        self.v2_cursor = v2_cursor
        self.events: list[StoredEvent] = []
        self._seq = first_seq - 1
        self._last_time_us = 0

    def add(self, event: Mapping[str, Any]) -> tuple[StoredEvent, dict[str, Any]]:
        """Store ``event``: a missing ``time_us`` comes from a clock that never goes backwards (microseconds),
        a missing ``cursor`` (v2 only) is the next sequence number. Returns it stored and as sent."""
        final: dict[str, Any] = {}
        self._seq += 1
        time_us = event.get("time_us")
        if not isinstance(time_us, int):
            time_us = self._next_time_us()
        else:
            self._last_time_us = max(self._last_time_us, time_us)
        for key, value in event.items():
            if key == "time_us":
                continue
            final[key] = value
            if key == "did":
                final["time_us"] = time_us
                if self.v2_cursor and "cursor" not in event:
                    final["cursor"] = self._seq
        if "time_us" not in final:
            final = {"time_us": time_us, **final}
        stored = self._record(final, encode_event(final))
        return stored, final

    def add_raw(self, text: str) -> StoredEvent:
        """Store ``text`` exactly as given; it must be one JSON object."""
        self._seq += 1
        parsed = json.loads(text)
        if not isinstance(parsed, dict):
            raise ValueError("a Jetstream event is a JSON object")
        time_us = parsed.get("time_us")
        if isinstance(time_us, int):
            self._last_time_us = max(self._last_time_us, time_us)
        return self._record(parsed, text)

    def replay(self, cursor: int) -> list[StoredEvent]:
        """The events a subscription with this ``cursor`` is sent first, in order (inclusive)."""
        if self.v2_cursor and cursor < CURSOR_SEQ_MAX:
            return sorted((e for e in self.events if e.seq >= cursor), key=lambda e: e.seq)
        return sorted((e for e in self.events if e.time_us >= cursor), key=lambda e: e.time_us)

    def _next_time_us(self) -> int:
        self._last_time_us = max(time.time_ns() // 1000, self._last_time_us + 1)
        return self._last_time_us

    def _record(self, event: Mapping[str, Any], text: str) -> StoredEvent:
        raw_commit = event.get("commit")
        commit: Mapping[str, Any] = raw_commit if isinstance(raw_commit, dict) else {}
        raw_cursor = event.get("cursor")
        raw_time = event.get("time_us")
        stored = StoredEvent(
            time_us=raw_time if isinstance(raw_time, int) else 0,
            seq=raw_cursor if isinstance(raw_cursor, int) else self._seq,
            did=str(event.get("did") or ""),
            kind=str(event.get("kind") or ""),
            collection=str(commit.get("collection") or ""),
            text=text,
            size=len(text.encode()),
        )
        self.events.append(stored)
        return stored
