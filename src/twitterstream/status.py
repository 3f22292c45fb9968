"""What a source is doing, in words: sources report it, pages, ``/readyz`` and ``/metrics`` show it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any


class SourceState(StrEnum):
    STARTING = "starting"
    CONNECTED = "connected"
    IDLE = "idle"  # connected to nothing on purpose (X with no watched query)
    RECONNECTING = "reconnecting"
    STANDBY = "standby"  # another ingester is active
    STOPPED = "stopped"  # a fatal error (no token, token refused): until restarted
    PAUSED = "paused"  # reading stopped on purpose (X's monthly post cap reached): resumes at retry_at


@dataclass
class SourceStatus:
    """What the pages and ``/readyz`` say about the source, in words."""

    source: str
    state: SourceState
    reason: str = ""
    retry_at: float | None = None
    #: Something a person should know while the source works (80% of X's monthly post cap read).
    warning: str = ""
    since: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, Any]:
        # every field is a plain value: a copy of them, without asdict's deep copy (pages ask on every request)
        return {f: getattr(self, f) for f in _STATUS_FIELDS}


_STATUS_FIELDS = tuple(f.name for f in fields(SourceStatus))
