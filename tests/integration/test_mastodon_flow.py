"""Mastodon end to end: the real app and ingester against a fake Mastodon instance on loopback."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest

from fakes.mastodon import FakeMastodon, hashtag_link
from harness import MASTODON_TOKEN, Harness, eventually, running_app, settings_for
from samples import SAMPLES
from twitterstream.config import Secret
from twitterstream.embed import EmbedFetcher
from twitterstream.sources.mastodon_poll import NEEDS_TOKEN

STREAMING = "/api/v1/streaming/"


@pytest.fixture
def masto_app(fake_mastodon: FakeMastodon, tmp_path: Path) -> Iterator[Harness]:
    with running_app(settings_for(mastodon=fake_mastodon), tmp_path) as harness:
        fake_mastodon.wait_for_connections(1)
        yield harness


def stream_requests(fake: FakeMastodon) -> list[tuple[str, dict[str, str]]]:
    return [(r.path, r.params) for r in fake.requests if r.path.startswith(STREAMING)]


def timeline_requests(fake: FakeMastodon) -> list[dict[str, str]]:
    return [r.params for r in fake.requests if r.path.startswith("/api/v1/timelines/")]


def settled_on(fake: FakeMastodon, path: str, tag: str | None = None) -> None:
    """Wait until every stream asked for has been answered, one is open, and the last asked is ``path``."""

    def settled() -> bool:
        asked = stream_requests(fake)
        return (
            bool(asked)
            and asked[-1] == (path, {"tag": tag} if tag else {})
            and fake.streams_opened == len(asked)
            and fake.active_streams == 1
        )

    fake.wait_for(settled, message=f"one open stream on {path} {tag or ''}")


def wait_received(harness: Harness, count: int) -> None:
    eventually(lambda: harness.received() >= count, message=f"{count} statuses received")


# -- configuration and auth --------------------------------------------------------------------------------
def test_without_a_token_hashtag_queries_follow_the_tag_timelines_and_the_others_say_why_not(
    tmp_path: Path,
) -> None:
    with FakeMastodon(rate_window=1) as fake_mastodon:
        settings = settings_for(mastodon=fake_mastodon, mastodon_access_token=None, mastodon_poll_seconds=0.05)
        with running_app(settings, tmp_path) as app:
            app.watch("#Caturday", "cats")
            tagged = fake_mastodon.post(
                f"<p>nap {hashtag_link('Caturday', fake_mastodon.public_url)}</p>", tags=["Caturday"]
            )
            eventually(lambda: app.ids("#Caturday") == [tagged], message="the tagged status, from the timeline")
            status = app.status()
            assert status["source"] == "mastodon" and status["state"] == "connected"
            assert status["reason"].startswith(f"polling #caturday on {fake_mastodon.base_url[7:]} (every ")
            page = app.client.get("/results/cats").get_data(as_text=True)
            assert "needs MASTODON_ACCESS_TOKEN on Mastodon" in page and NEEDS_TOKEN.startswith("A query")
        assert not [r for r in fake_mastodon.requests if r.path.startswith(STREAMING)]
        assert all("authorization" not in r.headers for r in fake_mastodon.requests)


def test_a_refused_token_stops_with_a_clear_status_and_no_retry_loop(
    fake_mastodon: FakeMastodon, tmp_path: Path
) -> None:
    with running_app(settings_for(mastodon=fake_mastodon, mastodon_access_token=Secret("wrong")), tmp_path) as app:
        status = eventually(lambda: app.status() if app.status()["state"] == "stopped" else None)
        assert "refused the access token (401" in status["reason"]
        assert "MASTODON_ACCESS_TOKEN" in status["reason"]
        assert app.ingester is not None
        for _ in range(10):
            app.ingester.wake()
        eventually(lambda: app.published_state() == "stopped")
        assert len(stream_requests(fake_mastodon)) == 1
        assert "wrong" not in status["reason"]


# -- routing ------------------------------------------------------------------------------------------------
def test_keyword_hashtag_lang_reply_and_url_queries_get_the_right_posts(
    fake_mastodon: FakeMastodon, masto_app: Harness
) -> None:
    masto_app.watch(
        "cats",
        "#Caturday",
        "cats lang:fr",
        "cats is:reply",
        "url:example.com",
        "url:news.example.org",
        "#musictuesday",
        "#test",
        "sentinel",
    )
    settled_on(fake_mastodon, "/api/v1/streaming/public")
    base = fake_mastodon.public_url

    tagged = fake_mastodon.post(f"<p>my cats nap {hashtag_link('Caturday', base)}</p>", tags=["Caturday"])
    french = fake_mastodon.post("<p>les cats dorment</p>", language="fr")
    reply = fake_mastodon.post(
        "<p>cats, continued</p>", account_id="42", in_reply_to_id="1", in_reply_to_account_id="42"
    )  # a self-reply: the public stream carries those
    link = fake_mastodon.post(
        '<p>read <a href="https://example.com/some/path" rel="nofollow noopener" '
        'target="_blank"><span class="invisible">https://</span><span class="ellipsis">example.com/so'
        '</span><span class="invisible">me/path</span></a></p>',
    )
    card = fake_mastodon.post(
        "<p>a story worth reading</p>",
        card={"url": "https://news.example.org/story", "title": "A story", "type": "link"},
    )
    for name in ("status_hashtag_test_mastodon_social", "status_remote_with_tags_ruby_social"):
        fake_mastodon.publish_raw((SAMPLES / "mastodon" / f"{name}.json").read_text(encoding="utf-8").strip())
    last = fake_mastodon.post("<p>the sentinel comes last</p>")
    eventually(lambda: masto_app.ids("sentinel") == [last], message="every status handled, in order")

    assert sorted(masto_app.ids("cats")) == sorted([tagged, french, reply])
    assert masto_app.ids("#Caturday") == [tagged]
    assert masto_app.ids("cats lang:fr") == [french]
    assert masto_app.ids("cats is:reply") == [reply]
    assert masto_app.ids("url:example.com") == [link]
    assert masto_app.ids("url:news.example.org") == [card]
    assert masto_app.ids("#musictuesday") == ["109348684737626801"]
    assert masto_app.ids("#test") == ["108914430312582020"]
    [shown] = masto_app.results("#test")
    assert shown["url"] == "https://mastodon.social/@trwnh/108914430312582020"
    assert shown["text"] == "#test"
    assert shown["author"] == {
        "id": "14715",
        "username": "trwnh",
        "name": "infinite love ⴳ",
        "avatar_url": "https://files.mastodon.social/accounts/avatars/000/014/715/original/e430cc93d56f5ac2.png",
    }


def test_one_hashtag_query_reads_its_hashtag_stream_and_more_queries_the_public_one(
    fake_mastodon: FakeMastodon, masto_app: Harness
) -> None:
    settled_on(fake_mastodon, "/api/v1/streaming/public")  # nothing watched yet
    masto_app.watch("#Otters")
    settled_on(fake_mastodon, "/api/v1/streaming/hashtag", "otters")
    status = eventually(lambda: masto_app.status() if "#otters" in masto_app.status()["reason"] else None)
    assert status["state"] == "connected"
    otter = fake_mastodon.post("<p>look #Otters</p>", tags=["Otters"])
    eventually(lambda: masto_app.ids("#Otters") == [otter])

    masto_app.watch("#Otters", "beavers")
    settled_on(fake_mastodon, "/api/v1/streaming/public")
    beaver = fake_mastodon.post("<p>beavers build</p>")
    eventually(lambda: masto_app.ids("beavers") == [beaver])
    assert [path for path, _ in stream_requests(fake_mastodon)] == [
        "/api/v1/streaming/public",
        "/api/v1/streaming/hashtag",
        "/api/v1/streaming/public",
    ]


def test_a_non_ascii_hashtag_is_percent_encoded_and_backfilled_from_its_timeline(
    fake_mastodon: FakeMastodon, masto_app: Harness
) -> None:
    earlier = fake_mastodon.post("<p>#café au lait</p>", tags=["café"])
    masto_app.watch("#café")
    eventually(lambda: masto_app.ids("#café") == [earlier], message="backfilled from the tag timeline")
    assert any(r.path == "/api/v1/timelines/tag/caf%C3%A9" for r in fake_mastodon.requests)
    settled_on(fake_mastodon, "/api/v1/streaming/hashtag", "café")


def test_a_new_query_fills_from_the_recent_window_at_once(fake_mastodon: FakeMastodon, masto_app: Harness) -> None:
    early = [fake_mastodon.post(f"<p>herons fishing {n}</p>") for n in range(3)]
    eventually(lambda: masto_app.received() == 3)
    fake_mastodon.wait_for(lambda: fake_mastodon.events_sent == 3)
    eventually(lambda: sorted(masto_app.ids("herons")) == sorted(early))
    assert fake_mastodon.events_sent == 3  # no new event was needed


def test_operators_mastodon_cannot_evaluate_are_refused_with_400(masto_app: Harness) -> None:
    for query, operator in (("cats is:quote", "is:quote"), ("cats is:verified", "is:verified")):
        response = masto_app.client.get("/api/v1/results", query_string={"q": query})
        assert response.status_code == 400
        assert operator in response.get_json()["error"]["message"]


# -- resilience ----------------------------------------------------------------------------------------------
def test_a_gap_of_more_than_40_statuses_is_filled_after_a_reconnect_without_duplicates(
    fake_mastodon: FakeMastodon, masto_app: Harness
) -> None:
    masto_app.watch("tide")
    settled_on(fake_mastodon, "/api/v1/streaming/public")
    before = [fake_mastodon.post(f"<p>tide report {n}</p>") for n in range(2)]
    eventually(lambda: masto_app.received() == 2)

    fake_mastodon.silent = True  # published while the stream delivers nothing: only the timelines know them
    missed = [fake_mastodon.post(f"<p>tide while away {n}</p>") for n in range(55)]
    fake_mastodon.silent = False
    fake_mastodon.drop_all()

    expected = before + missed
    eventually(lambda: sorted(masto_app.ids("tide")) == sorted(expected), message="all 57 statuses")
    fake_mastodon.wait_for(lambda: len(timeline_requests(fake_mastodon)) >= 3)  # the fill ends on an empty page
    pages = timeline_requests(fake_mastodon)
    assert [page.get("min_id") for page in pages] == [before[-1], missed[39], missed[54]]
    assert all(page["since_id"] == page["min_id"] and page["limit"] == "40" for page in pages)
    assert masto_app.received() == 57
    events = masto_app.store.events_after("tide", "0")
    assert sorted(e.post_key for e in events if e.kind == "post") == sorted(f"mastodon:{i}" for i in expected)


def test_a_connection_dropped_every_n_events_loses_nothing_and_duplicates_nothing(
    fake_mastodon: FakeMastodon, masto_app: Harness
) -> None:
    masto_app.watch("ripple")
    settled_on(fake_mastodon, "/api/v1/streaming/public")
    fake_mastodon.drop_every(4)
    expected: list[str] = []
    for batch in range(5):  # each batch outlives a stream: 4 arrive live, the rest through a gap fill
        expected += [fake_mastodon.post(f"<p>ripple {batch} {n}</p>") for n in range(5)]
        wait_received(masto_app, len(expected))
    eventually(lambda: sorted(masto_app.ids("ripple")) == sorted(expected), message="all 25 statuses")
    fake_mastodon.wait_for(
        lambda: fake_mastodon.streams_opened >= 6
    )  # the fifth drop's reconnect may still be under way
    assert masto_app.received() == 25  # the stream and the gap fills overlapped: each delivered once
    assert all("min_id" in page for page in timeline_requests(fake_mastodon))


def test_a_restart_fills_what_was_published_while_no_ingester_ran(fake_mastodon: FakeMastodon, tmp_path: Path) -> None:
    settings = settings_for(mastodon=fake_mastodon)
    with running_app(settings, tmp_path) as first:
        first.watch("harbor")
        settled_on(fake_mastodon, "/api/v1/streaming/public")
        before = [fake_mastodon.post(f"<p>harbor at dawn {n}</p>") for n in range(2)]
        eventually(lambda: len(first.ids("harbor")) == 2)
    fake_mastodon.wait_for_connections(0)
    missed = [fake_mastodon.post(f"<p>harbor while down {n}</p>") for n in range(3)]

    with running_app(settings, tmp_path) as second:
        eventually(lambda: sorted(second.ids("harbor")) == sorted(before + missed), message="the gap filled")
        assert [page["min_id"] for page in timeline_requests(fake_mastodon)][:1] == [before[-1]]
        assert second.received() == 3


def test_a_silent_stream_is_replaced_after_the_read_timeout(
    fake_mastodon: FakeMastodon, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with running_app(settings_for(mastodon=fake_mastodon, mastodon_read_timeout=0.5), tmp_path) as app:
        fake_mastodon.wait_for_connections(1)
        with fake_mastodon.silenced():
            fake_mastodon.wait_for_opened(2)  # the silent server closes nothing: the client gave up on it
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any("no data from Mastodon for 0.5 s; reconnecting" in w for w in warnings), warnings
        app.watch("awake")
        settled_on(fake_mastodon, "/api/v1/streaming/public")
        status_id = fake_mastodon.post("<p>awake again</p>")
        eventually(lambda: app.ids("awake") == [status_id])


def test_a_delete_removes_the_status(fake_mastodon: FakeMastodon, masto_app: Harness) -> None:
    masto_app.watch("fleeting")
    settled_on(fake_mastodon, "/api/v1/streaming/public")
    gone = fake_mastodon.post("<p>a fleeting thought</p>")
    kept = fake_mastodon.post("<p>a fleeting but kept thought</p>")
    eventually(lambda: len(masto_app.ids("fleeting")) == 2)
    fake_mastodon.delete(gone)
    eventually(lambda: masto_app.ids("fleeting") == [kept])


@pytest.mark.parametrize("style", ["iframe", "blockquote"])
def test_embeds_are_a_sanitised_iframe_on_the_home_server(
    style: Literal["iframe", "blockquote"], tmp_path: Path
) -> None:
    with FakeMastodon(access_token=MASTODON_TOKEN, heartbeat_interval=0.2, oembed_style=style) as fake:
        embedder = EmbedFetcher("http://127.0.0.1:9/unused", mastodon_url=fake.base_url)
        with running_app(settings_for(mastodon=fake), tmp_path, embedder=embedder) as app:
            app.watch("embedded")
            settled_on(fake, "/api/v1/streaming/public")
            status_id = fake.post("<p>embedded status</p>")
            [shown] = eventually(lambda: [p for p in app.results("embedded") if p["embed_html"]])
    assert shown["embed_html"] == (
        f'<iframe src="{fake.base_url}/@alice/{status_id}/embed" class="mastodon-embed" width="400" '
        'allowfullscreen="allowfullscreen"></iframe>'
    )
    oembeds = [r for r in fake.requests if r.path == "/api/oembed"]
    assert [r.params["url"] for r in oembeds] == [f"{fake.base_url}/@alice/{status_id}"]
