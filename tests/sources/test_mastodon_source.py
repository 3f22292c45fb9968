"""The Mastodon source without the app: gap fills against the fake, events, tag paths, and the embed sanitiser."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from fakes.mastodon import FakeMastodon
from helpers import RecordingSink, running
from samples import SAMPLES, load
from twitterstream.config import Secret, Settings
from twitterstream.embed import EmbedFetcher, sanitize_mastodon_embed
from twitterstream.sources.mastodon import GAP_FILL_MAX_PAGES, MastodonSource, tag_timeline_path
from twitterstream.sources.mastodon_payload import post_from_status

TOKEN = "test-token"


@pytest.fixture
def fake() -> Iterator[FakeMastodon]:
    with FakeMastodon(access_token=TOKEN) as fake:
        yield fake


@pytest.fixture
def source(fake: FakeMastodon) -> Iterator[MastodonSource]:
    settings = Settings(source="mastodon", mastodon_url=fake.base_url, mastodon_access_token=Secret(TOKEN))
    source = MastodonSource(settings, RecordingSink())
    yield source
    source._http.close()


def delivered(source: MastodonSource) -> list[str]:
    assert isinstance(source.sink, RecordingSink)
    return [post.id for post in source.sink.posts]


def publish_many(fake: FakeMastodon, count: int, **fields: Any) -> list[str]:
    statuses = [fake.make_status(f"<p>status {n}</p>", **fields) for n in range(count)]
    for status in statuses:
        fake.publish(status)
    return [str(s["id"]) for s in statuses]


def timeline_params(fake: FakeMastodon) -> list[dict[str, str]]:
    return [r.params for r in fake.requests if r.path.startswith("/api/v1/timelines/")]


# -- gap fill ----------------------------------------------------------------------------------------------
def test_a_gap_fill_pages_forward_from_the_newest_seen_oldest_first(fake: FakeMastodon, source: MastodonSource) -> None:
    seen = publish_many(fake, 3)
    missed = publish_many(fake, 90)
    source._fill_gap(None, int(seen[-1]))
    assert delivered(source) == missed  # all of them, oldest first, none twice
    assert [p["min_id"] for p in timeline_params(fake)] == [seen[-1], missed[39], missed[79], missed[89]]
    assert all(p["limit"] == "40" and p["since_id"] == p["min_id"] for p in timeline_params(fake))


def test_a_gap_fill_from_a_server_that_ignores_min_id_delivers_nothing_older(
    fake: FakeMastodon, source: MastodonSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reference names only ``since_id``: a server without ``min_id`` answers its newest page."""
    ids = publish_many(fake, 6)
    asked: list[dict[str, str]] = []

    def newest_page(path: str, params: dict[str, str]) -> list[dict[str, Any]]:
        asked.append(params)
        return fake.statuses  # newest first, whatever was asked

    monkeypatch.setattr(source, "_get", newest_page)
    source._fill_gap(None, int(ids[2]))
    assert delivered(source) == ids[3:]  # oldest first, nothing at or below the id asked from
    assert [p["since_id"] for p in asked] == [ids[2], ids[5]]  # the second page had nothing newer: done


def test_a_gap_fill_of_a_hashtag_reads_the_tag_timeline(fake: FakeMastodon, source: MastodonSource) -> None:
    [before] = publish_many(fake, 1, tags=["café"])
    others = publish_many(fake, 2)
    tagged = publish_many(fake, 2, tags=["Café"])
    source._fill_gap("café", int(before))
    assert delivered(source) == tagged and not set(others) & set(delivered(source))
    assert {r.path for r in fake.requests} == {"/api/v1/timelines/tag/caf%C3%A9"}


def test_a_gap_fill_stops_after_its_page_limit_and_says_so(
    fake: FakeMastodon, source: MastodonSource, caplog: pytest.LogCaptureFixture
) -> None:
    [first] = publish_many(fake, 1)
    missed = publish_many(fake, GAP_FILL_MAX_PAGES * 40 + 5)
    with caplog.at_level(logging.WARNING, logger="twitterstream.sources.mastodon"):
        source._fill_gap(None, int(first))
    assert delivered(source) == missed[: GAP_FILL_MAX_PAGES * 40]
    assert len(timeline_params(fake)) == GAP_FILL_MAX_PAGES
    assert f"stopped after {GAP_FILL_MAX_PAGES} pages (400 statuses)" in caplog.text


def test_a_failing_gap_fill_is_logged_not_raised(
    fake: FakeMastodon, source: MastodonSource, caplog: pytest.LogCaptureFixture
) -> None:
    publish_many(fake, 2)
    fake.fail_requests(503, path_prefix="/api/v1/timelines/")
    source._fill_gap(None, 1)
    assert delivered(source) == []
    assert "gap fill failed" in caplog.text and "503" in caplog.text


def test_statuses_seen_on_the_stream_are_not_delivered_again_by_a_gap_fill(
    fake: FakeMastodon, source: MastodonSource
) -> None:
    ids = publish_many(fake, 4)
    source.handle_event("update", json.dumps(fake.statuses[-1]))  # the oldest, streamed
    source.handle_event("update", json.dumps(fake.statuses[1]))  # the third, streamed before the drop
    source._fill_gap(None, int(ids[0]))
    assert delivered(source) == [ids[0], ids[2], ids[1], ids[3]]


# -- events and paths ----------------------------------------------------------------------------------------
def test_the_sse_capture_is_delivered_once_and_a_delete_names_the_post(source: MastodonSource) -> None:
    capture = (SAMPLES / "mastodon" / "sse_hashtag_update_event.txt").read_text(encoding="utf-8")
    data = next(line for line in capture.splitlines() if line.startswith("data: "))[6:]
    source.handle_event("update", data)
    source.handle_event("update", data)
    source.handle_event("status.update", data)  # edits keep the stored version
    source.handle_event("update", "{not json")
    source.handle_event("delete", "108914430312582020")
    assert delivered(source) == ["108914430312582020"]
    assert isinstance(source.sink, RecordingSink)
    assert source.sink.deleted == ["mastodon:108914430312582020"]


def test_an_update_that_is_not_a_status_object_is_skipped(source: MastodonSource) -> None:
    for data in ('"108914430312582020"', "[1, 2]", "null"):
        source.handle_event("update", data)
    assert delivered(source) == []


def test_the_stream_is_read_in_any_valid_sse_framing_and_an_unseen_edit_is_delivered() -> None:
    """Over a real socket: CRLF, ``data:`` without the space, multi-line data, ``id:`` lines, comments,
    chunks cut anywhere; ``status.update`` of a status never seen is a post, of one seen is dropped."""
    with FakeMastodon(access_token=TOKEN, sse_style="generic", split_chunks=1.0, heartbeat_interval=0.05) as fake:
        settings = Settings(source="mastodon", mastodon_url=fake.base_url, mastodon_access_token=Secret(TOKEN))
        sink = RecordingSink()
        with running(MastodonSource(settings, sink)):
            fake.wait_for_connections(1)
            first = fake.make_status("<p>first é😂 &amp; more</p>", tags=["a"])
            fake.publish(first)
            fake.edit({**first, "content": "<p>first, edited</p>"})
            unseen = fake.make_status("<p>edited before we saw it</p>")
            fake.edit(unseen)
            fake.delete(first["id"])
            sink.wait_for(lambda: sink.deleted == [f"mastodon:{first['id']}"], message="the delete arrived")
    assert [(p.id, p.text) for p in sink.posts] == [
        (first["id"], "first é😂 & more"),
        (unseen["id"], "edited before we saw it"),
    ]


def test_tag_paths_are_percent_encoded() -> None:
    assert tag_timeline_path("cats") == "/api/v1/timelines/tag/cats"
    assert tag_timeline_path("café") == "/api/v1/timelines/tag/caf%C3%A9"
    assert tag_timeline_path("a/b?c#d") == "/api/v1/timelines/tag/a%2Fb%3Fc%23d"


def test_the_remote_capture_decodes_every_field() -> None:
    post = post_from_status(load("mastodon/status_remote_with_tags_ruby_social.json"))
    assert post.id == "109348684737626801"  # this server's id; the URL keeps the home server's
    assert post.url == "https://ruby.social/@chrismo/109348684454557541"
    assert post.text == (
        "#musicTuesday \n\nHere's a solo #piano track of mine called Gravity Assist\n\n#neoclassical (#jazz ish)"
        "\n\nhttps://cstudios.bandcamp.com/track/celestia-gravity-assist-no-19-var-2"
    )
    assert post.hashtags == ("MUSICTUESDAY", "piano", "neoclassical", "jazz")
    assert post.urls == ("https://cstudios.bandcamp.com/track/celestia-gravity-assist-no-19-var-2",)
    assert (post.author.id, post.author.username, post.author.name) == ("795442", "chrismo@ruby.social", "chrismo")
    assert post.lang == "en" and post.mentions == () and post.media_types == ()
    assert not (post.is_reply or post.is_retweet or post.sensitive)
    assert post.extra["uri"] == "https://ruby.social/users/chrismo/statuses/109348684454557541"


# -- embeds --------------------------------------------------------------------------------------------------
BLOCKQUOTE = (  # what Mastodon 4.3+ answers to /api/oembed
    '<blockquote class="mastodon-embed" data-embed-url="https://mastodon.social/@Gargron/1/embed" '
    'style="max-width: 540px; min-width: 270px;"> <a href="https://mastodon.social/@Gargron/1" target="_blank"> '
    "<div>Post by @Gargron@mastodon.social</div> <div>View on Mastodon</div> </a> </blockquote> "
    '<script data-allowed-prefixes="https://mastodon.social/" async src="https://mastodon.social/embed.js"></script>'
)
IFRAME = '<iframe src="https://mastodon.social/@Gargron/1/embed" class="mastodon-embed" width="400" '


def test_the_4_3_blockquote_becomes_the_iframe_embed_js_would_make() -> None:
    for home in ("mastodon.social", "https://mastodon.social"):
        assert sanitize_mastodon_embed(BLOCKQUOTE, home) == IFRAME + 'allowfullscreen="allowfullscreen"></iframe>'
    assert sanitize_mastodon_embed(BLOCKQUOTE, "mastodon.social", width=550).startswith(IFRAME.replace("400", "550"))


@pytest.mark.parametrize(
    ("embed_url", "home"),
    [
        ("https://evil.example/@Gargron/1/embed", "mastodon.social"),  # another host
        ("https://mastodon.social.evil.example/x", "mastodon.social"),
        ("http://mastodon.social/@Gargron/1/embed", "https://mastodon.social"),  # another scheme
        ("https://mastodon.social/@Gargron/1/embed", "http://mastodon.social"),
        ("https://mastodon.social:8443/@Gargron/1/embed", "https://mastodon.social"),  # another port
        ("javascript:alert(1)", "mastodon.social"),
        ("", "mastodon.social"),
    ],
)
def test_an_embed_off_the_home_origin_is_dropped(embed_url: str, home: str) -> None:
    blockquote = BLOCKQUOTE.replace("https://mastodon.social/@Gargron/1/embed", embed_url)
    assert sanitize_mastodon_embed(blockquote, home) == ""
    iframe = f'<iframe src="{embed_url}" class="mastodon-embed"></iframe>'
    assert sanitize_mastodon_embed(iframe, home) == ""


def test_the_older_iframe_answer_on_an_http_origin_is_kept_and_cleaned() -> None:
    answer = (
        '<iframe src="http://127.0.0.1:8080/@a/1/embed" class="mastodon-embed" style="max-width: 100%; border: 0" '
        'width="400" allowfullscreen="allowfullscreen" onload="alert(1)"></iframe>'
        '<script src="http://127.0.0.1:8080/embed.js" async="async"></script>'
    )
    assert sanitize_mastodon_embed(answer, "http://127.0.0.1:8080") == (
        '<iframe src="http://127.0.0.1:8080/@a/1/embed" class="mastodon-embed" width="400" '
        'allowfullscreen="allowfullscreen"></iframe>'
    )


def test_the_fetcher_asks_the_posts_home_origin_and_only_the_configured_instance_when_told(
    fake: FakeMastodon,
) -> None:
    status = fake.make_status("<p>local</p>")
    fake.publish(status)
    local = post_from_status(status)
    remote = post_from_status(fake.make_status("<p>remote</p>", acct="bob@remote.invalid"))
    only_home = EmbedFetcher("http://127.0.0.1:9/unused", mastodon_url=fake.base_url + "/")
    try:
        assert only_home.fetch(remote) is None  # https://remote.invalid is not even asked
        assert [r.path for r in fake.requests] == []
        embed = only_home.fetch(local)
    finally:
        only_home.close()
    assert embed == (
        f'<iframe src="{fake.base_url}/@alice/{local.id}/embed" class="mastodon-embed" width="400" '
        'allowfullscreen="allowfullscreen"></iframe>'
    )
    assert [(r.path, r.params["url"]) for r in fake.requests] == [("/api/oembed", local.url)]
