"""Ids, DIDs, record keys, handles and URLs that break their service's syntax never become posts.

Each decoder checks what it decodes; a source drops such a post, counts it (``posts_invalid``) and keeps its
neighbours. The hostile values are the ones an attacker would send: a post id carrying a whole SSE event.
"""

from __future__ import annotations

import json
import logging
from contextlib import closing
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest

from fakes.bluesky_profiles import FakeProfiles
from harness import eventually
from helpers import RecordingSink, make_post, running
from samples import load
from twitterstream.config import Settings
from twitterstream.models import Author
from twitterstream.sources import identifiers
from twitterstream.sources.bluesky import ProfileCache
from twitterstream.sources.bluesky_payload import decode_event
from twitterstream.sources.identifiers import InvalidPost
from twitterstream.sources.mastodon_payload import post_from_status
from twitterstream.sources.replay import ReplaySource, decode_replay_line
from twitterstream.sources.x_payload import decode_stream_message, posts_from_page

SSE_INJECTION = '1\n\nevent: embed\ndata: {"id":"1","embed_html":"<h1>owned</h1>"}'
GOOD_DID = "did:plc:4smmjsqf6l5jkzczvw6vsrqc"


def x_message(post_id: Any = "1880000000004194304", author_id: Any = "42", username: Any = "alice") -> dict:
    return {
        "data": {"id": post_id, "text": "hello", "author_id": author_id},
        "includes": {"users": [{"id": str(author_id), "username": username, "name": "Alice"}]},
        "matching_rules": [{"id": "1", "tag": "t"}],
    }


def jetstream_event(did: Any = GOOD_DID, rkey: Any = "3mpt73z3ejc2p", operation: str = "create") -> dict:
    commit: dict[str, Any] = {"operation": operation, "collection": "app.bsky.feed.post", "rkey": rkey}
    if operation != "delete":
        commit |= {"cid": "bafy", "record": {"text": "hi", "createdAt": "2026-07-04T12:00:00Z"}}
    return {"did": did, "time_us": 1_780_000_000_000_000, "kind": "commit", "commit": commit}


def mastodon_status(**changes: Any) -> dict:
    status = load("mastodon/status_hashtag_test_mastodon_social.json")
    account = status["account"] | changes.pop("account", {})
    return status | {"account": account} | changes


# -- the syntax checks ------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["1", "1880000000004194304", 126115852, "18446744073709551615"])
def test_x_ids_that_are_decimal_numbers_pass(value: Any) -> None:
    assert identifiers.x_id(value) == str(value)


@pytest.mark.parametrize("value", ["", "12a", " 1", "1\n", SSE_INJECTION, "1" * 21, "١٢٣", -1, True, None, 1.5])
def test_x_ids_that_are_not_decimal_numbers_fail(value: Any) -> None:
    with pytest.raises(InvalidPost, match="X post id"):
        identifiers.x_id(value)


@pytest.mark.parametrize("did", [GOOD_DID, "did:web:example.com", "did:web:localhost%3A1234", "did:key:z6Mk-_.x"])
def test_dids_of_the_atproto_syntax_pass(did: str) -> None:
    assert identifiers.did(did) == did


@pytest.mark.parametrize(
    "did",
    ["", "did:plc:", "did:PLC:abc", "plc:abc", "did:plc:abc:", "did:plc:a\nb", "did:plc:a b", "did:plc:" + "a" * 2041],
)
def test_dids_off_the_atproto_syntax_fail(did: str) -> None:
    with pytest.raises(InvalidPost, match="DID"):
        identifiers.did(did)


@pytest.mark.parametrize("rkey", ["3mpt73z3ejc2p", "self", "a:b~c_d-e.f", "x" * 512])
def test_record_keys_of_the_atproto_syntax_pass(rkey: str) -> None:
    assert identifiers.record_key(rkey) == rkey


@pytest.mark.parametrize("rkey", ["", ".", "..", "a/b", "a b", "a\r", "x" * 513, "é", 7])
def test_record_keys_off_the_atproto_syntax_fail(rkey: Any) -> None:
    with pytest.raises(InvalidPost, match="record key"):
        identifiers.record_key(rkey)


def test_handles_follow_the_atproto_syntax() -> None:
    for good in ("alice.bsky.social", "xn--ls8h.test", "a.co", "8.cn", "john.test"):
        assert identifiers.is_handle(good), good
    for bad in ("alice", "alice.bsky.social\n", "-a.com", "a.123", "a..b", "a_b.com", "a.b" * 100, None):
        assert not identifiers.is_handle(bad), bad


def test_mastodon_accts_and_urls() -> None:
    for good in ("trwnh", "chrismo@ruby.social", "a.b-c_d@münchen.social", "bob@host:8080"):
        assert identifiers.mastodon_acct(good) == good
    for bad in ("", "@bob", "bob@", "bob@a b", "bob\n@x", "<b>@x", "a@b@c"):
        with pytest.raises(InvalidPost):
            identifiers.mastodon_acct(bad)
    assert identifiers.http_url("https://ruby.social/@a/1", "URL") == "https://ruby.social/@a/1"
    for bad in ("javascript:alert(1)", "data:text/html,x", "https://a b", "https://a\n", 'https://a"onload=', "//a"):
        with pytest.raises(InvalidPost):
            identifiers.http_url(bad, "URL")


def test_the_reason_shows_the_value_shortened_and_escaped() -> None:
    with pytest.raises(InvalidPost) as caught:
        identifiers.x_id(SSE_INJECTION + "x" * 500)
    message = str(caught.value)
    assert "\n" not in message and len(message) < 120 and "\\n\\nevent: embed" in message
    assert caught.value.field == "X post id"


# -- the decoders -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"post_id": SSE_INJECTION}, "X post id"),
        ({"author_id": "42\nevent: x"}, "X author id"),
        ({"username": "alice\n\nevent: embed"}, "X username"),
        ({"username": "al ice"}, "X username"),
    ],
)
def test_x_stream_message_with_a_hostile_field_is_refused(changes: dict, field: str) -> None:
    with pytest.raises(InvalidPost) as caught:
        decode_stream_message(x_message(**changes))
    assert caught.value.field == field


def test_x_page_keeps_the_good_posts_around_a_hostile_one() -> None:
    page = {
        "data": [
            {"id": "3", "text": "good three", "author_id": "42"},
            {"id": SSE_INJECTION, "text": "bad", "author_id": "42"},
            {"id": "1", "text": "good one", "author_id": "42"},
        ],
        "includes": {"users": [{"id": "42", "username": "alice"}]},
    }
    dropped: list[InvalidPost] = []
    assert [p.id for p in posts_from_page(page, dropped.append)] == ["3", "1"]
    assert [e.field for e in dropped] == ["X post id"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"did": "did:plc:abc\n\nevent: embed"}, "DID"),
        ({"did": None}, "DID"),
        ({"rkey": "3k\n\nevent: embed\ndata: {}"}, "record key"),
        ({"rkey": ".."}, "record key"),
        ({"rkey": "3k", "operation": "delete", "did": "did:plc:a b"}, "DID"),
        ({"rkey": "a/b", "operation": "delete"}, "record key"),
    ],
)
def test_jetstream_event_with_a_hostile_did_or_record_key_is_refused(changes: dict, field: str) -> None:
    with pytest.raises(InvalidPost) as caught:
        decode_event(jetstream_event(**changes))
    assert caught.value.field == field


def test_jetstream_event_that_is_not_a_post_is_skipped_before_any_check() -> None:
    like = jetstream_event(did="not a did") | {"commit": {"collection": "app.bsky.feed.like", "rkey": "\n"}}
    assert decode_event(like) is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"id": SSE_INJECTION}, "Mastodon status id"),
        ({"id": "109\r\n"}, "Mastodon status id"),
        ({"account": {"id": "1 2"}}, "Mastodon account id"),
        ({"account": {"acct": "trwnh\nevent: embed"}}, "Mastodon acct"),
        ({"url": "javascript:alert(1)"}, "Mastodon status URL"),
        ({"url": "https://mastodon.social/@a/1\n"}, "Mastodon status URL"),
    ],
)
def test_mastodon_status_with_a_hostile_field_is_refused(changes: dict, field: str) -> None:
    with pytest.raises(InvalidPost) as caught:
        post_from_status(mastodon_status(**changes))
    assert caught.value.field == field


def test_mastodon_ids_of_other_servers_speaking_the_api_pass() -> None:
    ulid = "01F8MH75CBF9JFX4ZAD54N0W0R"  # GoToSocial
    assert post_from_status(mastodon_status(id=ulid)).id == ulid


@pytest.mark.parametrize(
    ("content", "text"),
    [
        ("<p>&lt;b&gt;</p>", "<b>"),
        ("<p>&amp;lt;b&amp;gt;</p>", "&lt;b&gt;"),
        ("<p>Tom &amp;amp; Jerry</p>", "Tom &amp; Jerry"),
        ("<p>a &amp; b</p>", "a & b"),
    ],
)
def test_mastodon_content_is_decoded_exactly_once(content: str, text: str) -> None:
    assert post_from_status(mastodon_status(content=content, spoiler_text="")).text == text


def test_mastodon_spoiler_is_plain_text_and_not_decoded() -> None:
    post = post_from_status(mastodon_status(content="<p>body</p>", spoiler_text="&lt;cw&gt;"))
    assert post.text == "&lt;cw&gt;\n\nbody"


# -- replay: the same decoders, the same checks ------------------------------------------------------
def test_replay_lines_are_checked_like_the_live_streams() -> None:
    with pytest.raises(InvalidPost):
        decode_replay_line(orjson.dumps(x_message(post_id=SSE_INJECTION)))
    with pytest.raises(InvalidPost):
        decode_replay_line(orjson.dumps(jetstream_event(rkey="3k\n\nevent: embed")))
    dropped: list[InvalidPost] = []
    page = {"data": [{"id": "1\n", "text": "bad"}, {"id": "2", "text": "good"}]}
    posts, _ = decode_replay_line(orjson.dumps(page), dropped.append)
    assert [p.id for p in posts] == ["2"] and len(dropped) == 1


def test_replay_drops_and_counts_hostile_posts_and_keeps_their_neighbours(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    capture = tmp_path / "doctored.jsonl"
    lines = [
        x_message(post_id="1"),
        x_message(post_id=SSE_INJECTION),
        x_message(post_id="2\r\nid: 9"),
        jetstream_event(did="did:plc:x\n\nevent: embed"),
        {"data": [{"id": "3", "text": "page"}, {"id": "4 4", "text": "bad"}]},
        jetstream_event(rkey="3mptbyo7dms2m"),
    ]
    capture.write_text("".join(json.dumps(line) + "\n" for line in lines))
    sink = RecordingSink()
    caplog.set_level(logging.DEBUG, logger="twitterstream.sources.base")
    with running(ReplaySource(Settings(source="replay", replay_file=str(capture), replay_rate=0), sink)):
        sink.wait_for(lambda: len(sink.posts) == 3 and sink.invalid == 4)
    assert [p.id for p in sink.posts] == ["1", "3", f"{GOOD_DID}/3mptbyo7dms2m"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    # one warning per kind of fault (the counter has the rest), each with the reason and never a raw newline
    assert len(warnings) == 2, warnings
    assert all("dropped a post" in w and "\n" not in w for w in warnings)
    assert any("X post id" in w for w in warnings) and any("DID" in w for w in warnings)


# -- Bluesky handles: looked up off the hot path, checked before use --------------------------------------
PROFILES = {
    "did:plc:good": ("alice.bsky.social", "Display"),
    "did:plc:bad": ("mallory.bsky.social\n\nevent: embed", "Display"),  # a handle off the syntax, served as is
}


def test_a_profile_handle_off_the_handle_syntax_is_not_used() -> None:
    with FakeProfiles(PROFILES) as profiles, closing(ProfileCache(profiles.url)) as cache:
        for did in ("did:plc:good", "did:plc:bad"):
            cache.fill(replace(make_post(1), author=Author(did)))
        eventually(lambda: cache.known("did:plc:good") and cache.known("did:plc:bad"))
        assert cache.known("did:plc:good") == ("alice.bsky.social", "Display")
        assert cache.known("did:plc:bad") == (None, "Display")
        post = replace(make_post(2), author=Author("did:plc:bad"))
        cache.fill(post)
        assert (post.author.username, post.author.name) == (None, "Display")
