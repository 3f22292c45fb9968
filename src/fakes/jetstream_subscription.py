"""What one Jetstream subscription asks for, checked as the v1 ``/subscribe`` endpoint checks it, and the filter
that decides which events it is sent.

- ``wantedCollections`` (repeatable; ``prefix.*`` wildcards; NSIDs validated, at most 100) filters *commit*
  events only: identity and account events reach every subscriber whatever the filter. ``wantedDids``
  (repeatable, at most 10,000) applies to every kind. ``maxMessageSizeBytes`` drops larger events (empty,
  malformed or negative means no limit).
- ``cursor``: a non-negative integer (replayed by ``jetstream_history``); ``requireHello=true`` holds events
  back until the client's first ``options_update``; ``compress=true`` (zstd) is refused.

Whatever is refused raises :class:`InvalidOptions`, whose text is the plain-text body of the 400 (without the
final newline).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from websockets.datastructures import Headers

from .jetstream_history import StoredEvent

__all__ = [
    "InvalidOptions",
    "SubscribeOptions",
    "SubscriptionFilter",
    "build_filter",
    "subscribe_options",
]

MAX_WANTED_COLLECTIONS = 100
MAX_WANTED_DIDS = 10_000

_NSID = re.compile(
    r"^[a-zA-Z](?:[a-zA-Z0-9-]{0,62})?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,62})?)+\.[a-zA-Z](?:[a-zA-Z0-9]{0,62})?$"
)
_DID = re.compile(r"^did:[a-z]+:[a-zA-Z0-9._:%-]*[a-zA-Z0-9._-]$")


@dataclass(slots=True)
class SubscriptionFilter:
    """Which events one subscription is sent (None: no restriction; ``max_size`` 0: no limit)."""

    collections: frozenset[str] | None = None  # None = every collection
    prefixes: tuple[str, ...] = ()
    dids: frozenset[str] | None = None
    max_size: int = 0

    def wants(self, event: StoredEvent) -> bool:
        """Whether ``event`` passes the filter."""
        if self.dids is not None and event.did not in self.dids:
            return False
        if self.max_size and event.size > self.max_size:
            return False
        if event.kind != "commit" or not event.collection or self.collections is None:
            return True  # identity and account events bypass the collection filter
        return event.collection in self.collections or event.collection.startswith(self.prefixes)


class InvalidOptions(ValueError):
    """Options the endpoint refuses with HTTP 400 (or an ``options_update`` it answers by closing)."""


def _parse_collections(values: Sequence[str]) -> tuple[frozenset[str] | None, tuple[str, ...]]:
    if not values:
        return None, ()
    full: set[str] = set()
    prefixes: list[str] = []
    for raw in values:
        if raw.endswith(".*"):
            head = raw[:-1]
            if head not in prefixes:
                prefixes.append(head)
        elif _NSID.match(raw) and len(raw) <= 317:
            full.add(raw)
        else:
            raise InvalidOptions(f"subscribe: invalid options: invalid collection: {raw}")
        if len(full) + len(prefixes) > MAX_WANTED_COLLECTIONS:
            raise InvalidOptions(f"subscribe: invalid options: too many wanted collections: > {MAX_WANTED_COLLECTIONS}")
    return frozenset(full), tuple(prefixes)


def _parse_dids(values: Sequence[str]) -> frozenset[str] | None:
    if not values:
        return None
    for raw in values:
        if not _DID.match(raw):
            raise InvalidOptions(f"subscribe: invalid options: invalid DID: {raw}")
    dids = frozenset(values)
    if len(dids) > MAX_WANTED_DIDS:
        raise InvalidOptions(f"subscribe: invalid options: too many wanted DIDs: {len(dids)} > {MAX_WANTED_DIDS}")
    return dids


def _parse_max_size(raw: Any) -> int:
    """v1 parity: empty, malformed, negative or overflowing values mean "no limit"."""
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return 0
    return value if 0 <= value <= 0xFFFFFFFF else 0


def build_filter(collections: Sequence[str], dids: Sequence[str], max_size: Any) -> SubscriptionFilter:
    """The filter for these options (from the query string or an ``options_update``); InvalidOptions if bad."""
    full, prefixes = _parse_collections(collections)
    return SubscriptionFilter(full, prefixes, _parse_dids(dids), _parse_max_size(max_size))


def _go_quote(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class SubscribeOptions:
    """What a ``/subscribe`` handshake asked for, once accepted."""

    filter: SubscriptionFilter
    cursor: int | None
    require_hello: bool


def subscribe_options(query: Mapping[str, list[str]], headers: Headers) -> SubscribeOptions:
    """Check a handshake's query (``parse_qs`` with blank values kept) and headers, in the order v1 does:
    compression first, then the filters, then the cursor. Raises :class:`InvalidOptions`."""
    wants_zstd = (query.get("compress") or [""])[0] == "true" or "zstd" in (headers.get("Socket-Encoding") or "")
    if wants_zstd and "permessage-deflate" in (headers.get("Sec-WebSocket-Extensions") or ""):
        raise InvalidOptions(
            "choose one compression scheme: custom zstd (compress=true / Socket-Encoding: zstd) or "
            "RFC 7692 permessage-deflate, not both"
        )
    if wants_zstd:
        raise InvalidOptions("FakeJetstream does not implement compress=true (zstd)")
    flt = build_filter(
        query.get("wantedCollections", []),
        query.get("wantedDids", []),
        (query.get("maxMessageSizeBytes") or [""])[0],
    )
    cursor_raw = (query.get("cursor") or [""])[0]
    cursor: int | None = None
    if cursor_raw:
        if not re.fullmatch(r"-?\d+", cursor_raw) or abs(int(cursor_raw)) >= 2**63:
            raise InvalidOptions(f"subscribe: invalid cursor: {_go_quote(cursor_raw)}")
        cursor = int(cursor_raw)
        if cursor < 0:
            raise InvalidOptions(f"subscribe: invalid cursor: negative value {cursor}")
    return SubscribeOptions(flt, cursor, (query.get("requireHello") or [""])[0] == "true")
