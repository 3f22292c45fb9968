"""Jetstream events as production Jetstream writes them: the encoding of one event (compact JSON with Go's
HTML-safe escaping) and builders for commit (post, delete, like), identity and account events.

Records come from CBOR through Go maps, so their keys are sorted; the envelope's and the commit's keys are in
the order Jetstream writes them. A ``time_us`` left out is assigned by ``FakeJetstream.publish``.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from .atproto_ids import fake_cid, fake_did, new_tid
from .bluesky_facets import detect_facets

__all__ = [
    "LIKE_COLLECTION",
    "POST_COLLECTION",
    "encode_event",
    "make_account_event",
    "make_delete_event",
    "make_identity_event",
    "make_like_event",
    "make_post_event",
]

POST_COLLECTION = "app.bsky.feed.post"
LIKE_COLLECTION = "app.bsky.feed.like"

_GO_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_GO_ESCAPE_RE = re.compile("[<>&\u2028\u2029]")


def encode_event(event: Mapping[str, Any]) -> str:
    """One event as Jetstream writes it: compact JSON, keys in the given order, Go's HTML-safe escaping."""
    text = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    return _GO_ESCAPE_RE.sub(lambda m: _GO_ESCAPES[m.group(0)], text)


def _iso_from_us(time_us: int) -> str:
    moment = datetime.fromtimestamp(time_us / 1_000_000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _sorted_keys(value: Any) -> Any:
    """Jetstream renders records from CBOR through Go maps: object keys come out sorted."""
    if isinstance(value, Mapping):
        return {key: _sorted_keys(value[key]) for key in sorted(value)}
    if isinstance(value, list | tuple):
        return [_sorted_keys(item) for item in value]
    return value


def _envelope(did: str, time_us: int | None, kind: str, body_key: str, body: dict[str, Any]) -> dict[str, Any]:
    event: dict[str, Any] = {"did": did}
    if time_us is not None:
        event["time_us"] = time_us
    event["kind"] = kind
    event[body_key] = body
    return event


_DEFAULT = object()


def make_post_event(
    did: str,
    rkey: str,
    text: str,
    *,
    time_us: int | None = None,
    langs: Sequence[str] = ("en",),
    tags: Sequence[str] = (),
    facets: Any = _DEFAULT,
    reply: bool | Mapping[str, Any] = False,
    labels: Sequence[str] = (),
    embed: Mapping[str, Any] | None = None,
    created_at: str | None = None,
    mention_dids: Mapping[str, str] | None = None,
    operation: str = "create",
) -> dict[str, Any]:
    """A post ``create`` commit event shaped like production Jetstream's.

    ``facets`` defaults to :func:`detect_facets` over ``text`` (pass a list, or ``None`` for no facets);
    ``tags`` are the record's extra hashtags that are not in the text; ``reply=True`` replies to a made-up
    parent (or pass the ``{"root", "parent"}`` mapping); ``labels`` are self-labels such as ``"porn"``.
    ``time_us`` left out is assigned by :meth:`FakeJetstream.publish`.
    """
    record: dict[str, Any] = {"$type": POST_COLLECTION}
    stamp = time_us if time_us is not None else time.time_ns() // 1000
    record["createdAt"] = created_at or _iso_from_us(stamp)
    if embed is not None:
        record["embed"] = dict(embed)
    chosen_facets = detect_facets(text, mention_dids) if facets is _DEFAULT else facets
    if chosen_facets:
        record["facets"] = list(chosen_facets)
    if labels:
        record["labels"] = {
            "$type": "com.atproto.label.defs#selfLabels",
            "values": [{"val": value} for value in labels],
        }
    if langs:
        record["langs"] = list(langs)
    if reply:
        if isinstance(reply, Mapping):
            record["reply"] = dict(reply)
        else:
            parent_uri = f"at://{fake_did('parent.bsky.social')}/{POST_COLLECTION}/{new_tid(1_700_000_000_000_000)}"
            ref = {"cid": fake_cid(parent_uri), "uri": parent_uri}
            record["reply"] = {"parent": dict(ref), "root": dict(ref)}
    if tags:
        record["tags"] = list(tags)
    record["text"] = text
    record = _sorted_keys(record)
    commit = {
        "rev": new_tid(),
        "operation": operation,
        "collection": POST_COLLECTION,
        "rkey": rkey,
        "record": record,
        "cid": fake_cid(record),
    }
    return _envelope(did, time_us, "commit", "commit", commit)


def make_delete_event(
    did: str, rkey: str, *, time_us: int | None = None, collection: str = POST_COLLECTION
) -> dict[str, Any]:
    """A ``delete`` commit: no ``record`` and no ``cid``."""
    commit = {"rev": new_tid(), "operation": "delete", "collection": collection, "rkey": rkey}
    return _envelope(did, time_us, "commit", "commit", commit)


def make_like_event(
    did: str,
    subject_uri: str,
    subject_cid: str | None = None,
    *,
    rkey: str | None = None,
    time_us: int | None = None,
) -> dict[str, Any]:
    """A like (an ``app.bsky.feed.like`` create), the commonest event that is not a post."""
    record = _sorted_keys(
        {
            "$type": LIKE_COLLECTION,
            "createdAt": _iso_from_us(time_us if time_us is not None else time.time_ns() // 1000),
            "subject": {"cid": subject_cid or fake_cid(subject_uri), "uri": subject_uri},
        }
    )
    commit = {
        "rev": new_tid(),
        "operation": "create",
        "collection": LIKE_COLLECTION,
        "rkey": rkey or new_tid(),
        "record": record,
        "cid": fake_cid(record),
    }
    return _envelope(did, time_us, "commit", "commit", commit)


_seq_lock = threading.Lock()
_seq = 30_340_180_350


def _next_repo_seq() -> int:
    global _seq
    with _seq_lock:
        _seq += 1
        return _seq


def make_identity_event(did: str, *, handle: str | None = None, time_us: int | None = None) -> dict[str, Any]:
    """An identity event (sent to every subscriber, whatever ``wantedCollections`` says)."""
    body: dict[str, Any] = {"did": did}
    if handle is not None:
        body["handle"] = handle
    body["seq"] = _next_repo_seq()
    body["time"] = _iso_from_us(time_us if time_us is not None else time.time_ns() // 1000)
    return _envelope(did, time_us, "identity", "identity", body)


def make_account_event(
    did: str, *, active: bool = True, status: str | None = None, time_us: int | None = None
) -> dict[str, Any]:
    """An account event (``status`` e.g. ``"deactivated"`` when not active); sent to every subscriber."""
    body: dict[str, Any] = {"active": active, "did": did, "seq": _next_repo_seq()}
    if status is not None:
        body["status"] = status
    body["time"] = _iso_from_us(time_us if time_us is not None else time.time_ns() // 1000)
    return _envelope(did, time_us, "account", "account", body)
