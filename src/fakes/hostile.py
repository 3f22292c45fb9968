"""What a hostile or broken upstream (or a doctored replay file) can send as identifiers, for every fake.

Each value breaks its service's documented syntax, and most carry a whole SSE event after a blank line:
written as is into a live stream's ``id:`` line, it would inject an ``embed`` into every viewer's page (a
heading, a tracking image and a style, as seen in Chromium). The builders return payloads the fakes publish
with their ordinary ``publish`` methods, so the hostile bytes travel the real wire protocols.
"""

from __future__ import annotations

import json
from typing import Any

from .jetstream import fake_did, make_post_event
from .mastodon import make_status
from .x_posts import make_post, make_user

#: The injected event: a heading, a tracking image and a style, if it ever reached a page.
INJECTED_EMBED = {
    "id": "1",
    "embed_html": '<h1>owned</h1><img src="https://tracker.example/p.gif"><style>body{display:none}</style>',
}
SSE_INJECTION = "\n\nevent: embed\ndata: " + json.dumps(INJECTED_EMBED, separators=(",", ":")) + "\n\n"
#: A marker in the text of every hostile post, to look for in pages, streams and the store.
HOSTILE_TEXT = "hostile-marker"

X_POST_IDS = ("1" + SSE_INJECTION, "2\r\nid: 2", "3 3", "")
DIDS = (fake_did("mallory.test") + SSE_INJECTION, "did:plc:a b", "did:PLC:x", "did:plc:x:")
RECORD_KEYS = ("3k" + SSE_INJECTION, "..", "a/b", "x" * 513)
MASTODON_IDS = ("1" + SSE_INJECTION, "2\r\n", "3/../4")


def x_posts(seed: int) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """X posts (with their users) whose id, author id or username breaks X's syntax."""
    built = [make_post(post_id, f"{HOSTILE_TEXT} {seed} #hostile") for post_id in X_POST_IDS if post_id]
    bad_author = make_post(None, f"{HOSTILE_TEXT} author #hostile", author_id="7\n\nevent: embed")
    bad_username, _ = make_post(None, f"{HOSTILE_TEXT} username #hostile", author_id="8")
    return [*built, bad_author, (bad_username, make_user("8", "mallory" + SSE_INJECTION))]


def jetstream_events() -> list[dict[str, Any]]:
    """Jetstream post creates (and a delete) whose DID or record key breaks the atproto syntax."""
    good_did, good_rkey = fake_did("alice.bsky.social"), "3mpt73z3ejc2p"
    events = [make_post_event(did, good_rkey, f"{HOSTILE_TEXT} #hostile") for did in DIDS]
    events += [make_post_event(good_did, rkey, f"{HOSTILE_TEXT} #hostile") for rkey in RECORD_KEYS]
    events.append(make_post_event(good_did, ".", f"{HOSTILE_TEXT} #hostile", operation="delete"))
    return events


def mastodon_statuses(base_url: str) -> list[dict[str, Any]]:
    """Mastodon statuses whose id, acct or URL breaks the syntax."""
    content = f"<p>{HOSTILE_TEXT} #hostile</p>"
    statuses = [make_status(status_id, content, tags=["hostile"], base_url=base_url) for status_id in MASTODON_IDS]
    statuses.append(make_status("9001", content, tags=["hostile"], base_url=base_url, acct="mallory\n\nevent: x"))
    statuses.append(make_status("9002", content, tags=["hostile"], base_url=base_url, url="javascript:alert(1)"))
    return statuses
