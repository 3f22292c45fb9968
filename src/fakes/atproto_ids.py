"""Identifiers as atproto makes them, for fake Bluesky records: TIDs (record keys and revisions), CIDs and
``did:plc:`` DIDs. Well-formed and stable, not real: a CID here is a hash of the content's JSON, not its CBOR."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from typing import Any

__all__ = ["fake_cid", "fake_did", "new_tid"]

_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_tid_lock = threading.Lock()
_tid_last = 0


def new_tid(time_us: int | None = None, clock_id: int = 0) -> str:
    """A fresh atproto TID (13 sortable base32 characters: microseconds, clock id), as rkeys and revs are."""
    global _tid_last
    with _tid_lock:
        if time_us is None:
            time_us = max(time.time_ns() // 1000, _tid_last + 1)
            _tid_last = time_us
    value = ((time_us & ((1 << 53) - 1)) << 10) | (clock_id & 0x3FF)
    chars = []
    for _ in range(13):
        chars.append(_TID_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def fake_cid(content: Any) -> str:
    """A well-formed CIDv1 (dag-cbor, sha2-256, base32) derived from ``content``: ``bafyrei...``, 59 chars."""
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).digest()
    raw = bytes([0x01, 0x71, 0x12, 0x20]) + digest
    return "b" + base64.b32encode(raw).decode().lower().rstrip("=")


def fake_did(handle: str) -> str:
    """A stable ``did:plc:`` (24 base32 characters) for a handle, for mention facets and test authors."""
    digest = hashlib.sha256(handle.lower().encode()).digest()
    return "did:plc:" + base64.b32encode(digest).decode().lower()[:24]
