"""The Bluesky source without the app: the captures through ``handle_message``, its URL, the choice of source."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from fakes.jetstream import FakeJetstream, encode_event, fake_did, make_delete_event, make_post_event
from helpers import RecordingSink, running
from samples import SAMPLES
from twitterstream.config import Settings, load_settings
from twitterstream.sources.bluesky import (
    MAX_RESUME_AGE_US,
    REWIND_US,
    BlueskySource,
    resume_cursor,
    subscribe_url,
)
from twitterstream.sources.bluesky_payload import could_be_post


def raw(name: str) -> str:
    """A capture's exact text, as Jetstream sent it."""
    return (SAMPLES / "bluesky" / f"jetstream_v1_{name}.json").read_text(encoding="utf-8").rstrip("\n")


@pytest.fixture
def source() -> Iterator[BlueskySource]:
    settings = Settings(source="bluesky", bluesky_profile_url="http://127.0.0.1:9")
    source = BlueskySource(settings, RecordingSink())
    yield source
    source.profiles.close()


def sink_of(source: BlueskySource) -> RecordingSink:
    assert isinstance(source.sink, RecordingSink)
    return source.sink


def test_the_reply_capture_becomes_a_reply_post(source: BlueskySource) -> None:
    source.handle_message(raw("post_create_reply"))
    [post] = sink_of(source).posts
    assert post.id == "did:plc:d3blkgynnwi3rp7vak25pfe3/3mptbyo7dms2m"
    assert post.url == "https://bsky.app/profile/did:plc:d3blkgynnwi3rp7vak25pfe3/post/3mptbyo7dms2m"
    assert post.text.startswith("Read the part about throwing off the old guards")
    assert post.text.endswith("We should do this now!")
    assert post.created_at == datetime(2026, 7, 4, 14, 38, 6, 55000, tzinfo=UTC)
    assert post.lang == "en"
    assert post.is_reply and not post.is_quote and not post.is_retweet
    assert post.reply_to == ("did:plc:vqr6qcne2dya6o46z2citxdk",)
    assert (post.hashtags, post.mentions, post.urls, post.media_types) == ((), (), (), ())
    assert post.author.id == "did:plc:d3blkgynnwi3rp7vak25pfe3" and post.author.username is None
    assert post.extra["cid"] == "bafyreihaenhj2c5yxlwbj6nd4ewtxr7oylvuymqzqnrwqo6e3qfz6euiyq"
    assert not post.sensitive and "adult" not in post.extra
    assert source.cursor == 1783175888160588


def test_the_link_capture_keeps_the_full_uri_of_a_shortened_link(source: BlueskySource) -> None:
    source.handle_message(raw("post_create_link_facet_external_embed"))
    [post] = sink_of(source).posts
    assert post.text == "www.youtube.com/watch?v=V5lD..."
    assert post.urls == ("https://www.youtube.com/watch?v=V5lDo-jw8mA",)  # facet and card: the same link once
    assert post.created_at == datetime(2026, 7, 4, 14, 38, 6, 240000, tzinfo=UTC)
    assert post.lang == "en" and "langs" not in post.extra
    assert not post.is_reply and post.media_types == ()


def test_the_images_capture_has_tags_a_link_two_languages_and_a_photo(source: BlueskySource) -> None:
    source.handle_message(raw("post_create_link_tag_facets_images_embed"))
    [post] = sink_of(source).posts
    assert post.text.startswith("\"Behind them, Timmi and Wanky'u follow silently")
    assert post.text.endswith("#talesatwonderworld\n#balanwonderworldoc")
    assert post.hashtags == ("talesatwonderworld", "balanwonderworldoc")
    assert post.urls[0].startswith("https://www.tumblr.com/tempo-tales/765681292369166336/")
    assert post.media_types == ("photo",)
    assert post.lang == "es" and post.extra["langs"] == ["es", "en"]
    assert post.created_at == datetime(2026, 7, 4, 14, 38, 6, 71000, tzinfo=UTC)


def test_identity_account_and_delete_captures(source: BlueskySource) -> None:
    source.handle_message(raw("identity"))
    source.handle_message(raw("account"))
    assert sink_of(source).posts == [] and sink_of(source).deleted == []
    assert source.cursor is None  # skipped unparsed: replayed and skipped again after a reconnect
    source.handle_message(raw("post_delete"))
    assert sink_of(source).deleted == ["bluesky:did:plc:4smmjsqf6l5jkzczvw6vsrqc/3mpt73z3ejc2p"]
    assert source.cursor == 1783175888377628


def test_a_replayed_event_is_delivered_once_and_garbage_is_skipped(source: BlueskySource) -> None:
    for _ in range(3):
        source.handle_message(raw("post_create_tag_facets"))
    source.handle_message("not json")
    source.handle_message("[1, 2]")
    source.handle_message('{"kind": "commit", "commit": {"collection": "app.bsky.feed.post"}}')
    assert [p.id for p in sink_of(source).posts] == ["did:plc:tn3hni2jpphsgl6amfbb7ja6/3mptbypfywk2v"]


def test_a_binary_frame_is_decoded_like_a_text_frame(source: BlueskySource) -> None:
    source.handle_message(raw("post_create_tag_facets").encode())
    source.handle_message(raw("post_delete").encode())
    assert [p.id for p in sink_of(source).posts] == ["did:plc:tn3hni2jpphsgl6amfbb7ja6/3mptbypfywk2v"]
    assert sink_of(source).deleted == ["bluesky:did:plc:4smmjsqf6l5jkzczvw6vsrqc/3mpt73z3ejc2p"]


def test_the_subscribe_url_asks_for_posts_from_the_cursor() -> None:
    url = subscribe_url("wss://jetstream.example/subscribe?wantedCollections=x&compress=false", 1783175888172335)
    assert url == (
        "wss://jetstream.example/subscribe?compress=false&wantedCollections=app.bsky.feed.post&cursor=1783175888172335"
    )
    assert subscribe_url("ws://127.0.0.1:1/subscribe", None).endswith("?wantedCollections=app.bsky.feed.post")


def test_a_bare_host_gets_the_subscribe_path_and_zstd_is_never_asked_for() -> None:
    posts_only = "wantedCollections=app.bsky.feed.post"
    assert subscribe_url("wss://jetstream.example", None) == f"wss://jetstream.example/subscribe?{posts_only}"
    assert subscribe_url("wss://jetstream.example/", None) == f"wss://jetstream.example/subscribe?{posts_only}"
    assert subscribe_url("wss://j.example/subscribe?compress=true&wantedDids=did:plc:a", None) == (
        f"wss://j.example/subscribe?wantedDids=did%3Aplc%3Aa&{posts_only}"
    )


def test_an_update_commit_is_decoded_like_a_create_and_delivered_once(source: BlueskySource) -> None:
    did = fake_did("alice.bsky.social")
    source.handle_message(encode_event(make_post_event(did, "3aaa", "first words", time_us=10)))
    source.handle_message(encode_event(make_post_event(did, "3aaa", "new words", time_us=11, operation="update")))
    source.handle_message(
        encode_event(make_post_event(did, "3bbb", "changed before we saw it #late", time_us=12, operation="update"))
    )
    posts = sink_of(source).posts
    assert [(p.id, p.text) for p in posts] == [
        (f"{did}/3aaa", "first words"),  # the version already delivered stays
        (f"{did}/3bbb", "changed before we saw it #late"),
    ]
    assert posts[1].hashtags == ("late",)
    assert source.cursor == 12


def test_the_source_reads_creates_updates_and_deletes_from_a_bare_host_url() -> None:
    """Over a real WebSocket: a host given without ``/subscribe``, text frames, every documented operation."""
    did = fake_did("bob.bsky.social")
    with FakeJetstream() as jetstream:
        settings = Settings(
            source="bluesky",
            bluesky_jetstream_urls=(f"ws://127.0.0.1:{jetstream.port}",),
            bluesky_profile_url="http://127.0.0.1:9",
            bluesky_watchdog_seconds=5.0,
        )
        sink = RecordingSink()
        with running(BlueskySource(settings, sink)):
            jetstream.wait_for_connections(1)
            jetstream.publish(make_post_event(did, "3ccc", "created"))
            jetstream.publish(make_post_event(did, "3ccc", "created, then updated", operation="update"))
            jetstream.publish(make_post_event(did, "3ddd", "only ever seen updated", operation="update"))
            jetstream.publish(make_delete_event(did, "3ccc"))
            sink.wait_for(lambda: sink.deleted == [f"bluesky:{did}/3ccc"], message="the delete arrived")
    assert [(p.id, p.text) for p in sink.posts] == [
        (f"{did}/3ccc", "created"),
        (f"{did}/3ddd", "only ever seen updated"),
    ]
    assert [(r["path"], r["wantedCollections"], r["status"]) for r in jetstream.requests] == [
        ("/subscribe", ["app.bsky.feed.post"], 101)
    ]


def test_a_reconnect_rewinds_the_cursor_a_few_seconds_and_never_below_one() -> None:
    now = 1783175890000000
    assert resume_cursor(1783175888172335, now) == 1783175888172335 - REWIND_US == 1783175883172335
    assert resume_cursor(42, 42) == 1  # a negative cursor would be refused with 400
    assert resume_cursor(None, now) is None  # nothing processed yet: live only


def test_a_cursor_older_than_an_hour_starts_live_instead_of_replaying_the_backlog() -> None:
    now = 1783175890000000
    assert resume_cursor(now - MAX_RESUME_AGE_US, now) == now - MAX_RESUME_AGE_US - REWIND_US
    assert resume_cursor(now - MAX_RESUME_AGE_US - 1, now) is None


@pytest.mark.parametrize(
    ("environ", "source"),
    [
        ({}, "bluesky"),  # free and needs no account: the default
        ({"X_BEARER_TOKEN": "t"}, "x"),
        ({"TWITTER_BEARER_TOKEN": "t"}, "x"),
        ({"X_BEARER_TOKEN": "t", "TWITTERSTREAM_SOURCE": "bluesky"}, "bluesky"),  # the explicit choice wins
        ({"TWITTERSTREAM_SOURCE": "Mastodon"}, "mastodon"),
        ({"TWITTERSTREAM_SOURCE": "replay", "X_BEARER_TOKEN": "t"}, "replay"),
    ],
)
def test_the_source_is_chosen_as_the_design_says(environ: dict[str, str], source: str) -> None:
    settings = load_settings(environ, env_file=None)
    assert settings.source == source
    assert settings.source_explicit == ("TWITTERSTREAM_SOURCE" in environ)


def test_jetstream_hosts_are_a_failover_list() -> None:
    settings = load_settings({"BLUESKY_JETSTREAM_URL": " ws://a/subscribe , ws://b/subscribe,"}, env_file=None)
    assert settings.bluesky_jetstream_urls == ("ws://a/subscribe", "ws://b/subscribe")
    default = load_settings({}, env_file=None).bluesky_jetstream_urls
    assert default == (
        "wss://jetstream.us-east.bsky.network/subscribe",
        "wss://jetstream.us-west.bsky.network/subscribe",
    )


def test_only_post_commits_are_parsed() -> None:
    for name in ("post_create_reply", "post_create_tag_facets", "post_delete"):
        assert could_be_post(raw(name))
    assert not could_be_post(raw("identity")) and not could_be_post(raw("account"))
    like = raw("post_create_reply").replace('"collection":"app.bsky.feed.post"', '"collection":"app.bsky.feed.like"')
    assert not could_be_post(like)
    # Unusual spellings are decoded to be sure: spaces, a record before the collection, bytes.
    assert could_be_post(like.replace('"collection":', '"collection" : '))
    assert could_be_post('{"commit":{"record":{"collection":"x"},"collection":"app.bsky.feed.post"}}')
    assert could_be_post(like.encode())


def test_a_post_dated_in_the_future_takes_the_time_jetstream_received_it(source: BlueskySource) -> None:
    future = raw("post_create_reply").replace(
        '"createdAt":"2026-07-04T14:38:06.055Z"', '"createdAt":"2099-01-01T00:00:00Z"'
    )
    source.handle_message(future)
    [post] = sink_of(source).posts
    assert post.created_at == datetime.fromtimestamp(1783175888160588 / 1e6, tz=UTC)  # the event's time_us
