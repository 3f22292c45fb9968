"""Bluesky end to end: the real app and ingester against a fake Jetstream (and a fake profile API) on loopback."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fakes.bluesky_profiles import FakeProfiles, avatar_of
from fakes.jetstream import (
    FakeJetstream,
    external_embed,
    fake_did,
    images_embed,
    make_account_event,
    make_delete_event,
    make_identity_event,
    make_like_event,
    make_post_event,
    new_tid,
)
from harness import Harness, eventually, running_app, settings_for
from samples import SAMPLES
from twitterstream.config import Settings
from twitterstream.sources.bluesky import REWIND_US

ALICE = fake_did("alice.bsky.social")
BOB = fake_did("bob.bsky.social")


def bsky_settings(*urls: str, profiles: FakeProfiles, **overrides: Any) -> Settings:
    """Bluesky from these hosts, in order; live streams keep alive every 0.2 s, so reading one never waits long."""
    return settings_for(jetstream=urls, profiles=profiles.url, sse_keepalive_seconds=0.2, **overrides)


@pytest.fixture
def bsky_app(fake_jetstream: FakeJetstream, fake_profiles: FakeProfiles, tmp_path: Path) -> Iterator[Harness]:
    with running_app(bsky_settings(fake_jetstream.url, profiles=fake_profiles), tmp_path) as harness:
        fake_jetstream.wait_for_connections(1)
        yield harness


def sample(name: str) -> str:
    return (SAMPLES / "bluesky" / f"{name}.json").read_text(encoding="utf-8").rstrip("\n")


# -- routing -----------------------------------------------------------------------------------------------
def test_keyword_hashtag_lang_reply_and_url_queries_get_the_right_posts(
    fake_jetstream: FakeJetstream, bsky_app: Harness
) -> None:
    queries = {
        "cats": "cats",
        "#caturday": "#Caturday",
        "#hiddentag": "#hiddenTag",
        "cats lang:fr": "cats lang:fr",
        "cats is:reply": "cats is:reply",
        "url:example.com": "url:example.com",
        "url:news.example.org": "url:news.example.org",
        "#indierebellion lang:de": "#IndieRebellion lang:de",
        "election is:reply": "election is:reply",
        "url:youtube.com": "url:youtube.com",
        "#talesatwonderworld": "#talesatwonderworld",
    }
    bsky_app.watch(*queries.values())

    tagged = fake_jetstream.post(ALICE, "my cats nap all day #Caturday")
    french = fake_jetstream.post(BOB, "les cats dorment", langs=["fr"])
    reply = fake_jetstream.post(ALICE, "cats agree with you", reply=True)
    hidden = fake_jetstream.post(BOB, "no hashtag in this text", tags=["hiddenTag"])
    link = fake_jetstream.post(
        ALICE,
        "read example.com/some/pa...",
        facets=[
            {
                "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com/some/path"}],
                "index": {"byteStart": 5, "byteEnd": 27},
            }
        ],
    )
    card = fake_jetstream.post(BOB, "a story worth reading", embed=external_embed("https://news.example.org/story"))
    fake_jetstream.publish(make_like_event(BOB, f"at://{ALICE}/app.bsky.feed.post/{tagged.split('/')[1]}"))
    fake_jetstream.publish(make_identity_event(ALICE, handle="alice.bsky.social"))
    fake_jetstream.publish(make_account_event(BOB))
    photo = fake_jetstream.post(ALICE, "cats in a box", embed=images_embed(2))
    for name in (
        "post_create_tag_facets",
        "post_create_reply",
        "post_create_link_facet_external_embed",
        "post_create_link_tag_facets_images_embed",
        "identity",
        "account",
        "post_delete",
    ):
        fake_jetstream.publish_raw(sample(f"jetstream_v1_{name}"))
    last = fake_jetstream.post(BOB, "the last one")
    eventually(lambda: bsky_app.received() == 12, message="12 posts decoded (likes, identity, account skipped)")

    assert set(bsky_app.ids("cats")) == {tagged, french, reply, photo}
    assert bsky_app.ids("#Caturday") == [tagged]
    assert bsky_app.ids("#hiddenTag") == [hidden]  # from the record's tags, not in the text
    assert bsky_app.ids("cats lang:fr") == [french]
    assert bsky_app.ids("cats is:reply") == [reply]
    assert bsky_app.ids("url:example.com") == [link]  # the facet's full URI, not the shortened text
    assert bsky_app.ids("url:news.example.org") == [card]  # the external embed's URI
    assert bsky_app.ids("#IndieRebellion lang:de") == ["did:plc:tn3hni2jpphsgl6amfbb7ja6/3mptbypfywk2v"]
    assert bsky_app.ids("election is:reply") == ["did:plc:d3blkgynnwi3rp7vak25pfe3/3mptbyo7dms2m"]
    assert bsky_app.ids("url:youtube.com") == ["did:plc:dclwtltrt2ggsryagfzk7dp4/3mptbyoeyc22k"]
    assert bsky_app.ids("#talesatwonderworld") == ["did:plc:ynfp6wddjqpl44gordpsqkuw/3mptbyo7tas2u"]
    assert last not in {i for q in queries.values() for i in bsky_app.ids(q)}

    [shown] = bsky_app.results("#Caturday")
    rkey = tagged.split("/")[1]
    assert shown["url"] == f"https://bsky.app/profile/{ALICE}/post/{rkey}"
    assert shown["source"] == "bluesky" and shown["lang"] == "en"
    assert shown["author"]["id"] == ALICE
    assert shown["embed_html"].startswith(
        f'<blockquote class="bluesky-embed" data-bluesky-uri="at://{ALICE}/app.bsky.feed.post/{rkey}" '
    )


def test_a_new_query_fills_from_the_recent_window_at_once(fake_jetstream: FakeJetstream, bsky_app: Harness) -> None:
    early = [fake_jetstream.post(ALICE, f"penguins waddle {n}") for n in range(3)]
    fake_jetstream.post(BOB, "nothing about birds")
    eventually(lambda: bsky_app.received() == 4)
    fake_jetstream.wait_for(lambda: fake_jetstream.sent == 4)

    first_look = bsky_app.results("penguins")  # not watched until now
    filled = eventually(lambda: bsky_app.ids("penguins"), message="the page filled from the window")
    assert sorted(filled) == sorted(early)
    assert len(first_look) <= 3
    assert fake_jetstream.sent == 4  # no new event was needed


def test_an_operator_bluesky_cannot_evaluate_is_refused_with_400(bsky_app: Harness) -> None:
    for query, operator in (("cats is:verified", "is:verified"), ("$AAPL", "cashtag")):
        response = bsky_app.client.get("/api/v1/results", query_string={"q": query})
        assert response.status_code == 400
        message = response.get_json()["error"]["message"]
        assert operator in message and "bluesky" in message
    page = bsky_app.client.get("/results/cats%20is%3Averified")
    assert page.status_code == 400
    assert "is:verified cannot be evaluated on bluesky posts" in page.get_data(as_text=True)


def test_readyz_and_the_results_page_name_the_source_and_its_state(
    fake_jetstream: FakeJetstream, bsky_app: Harness
) -> None:
    status = eventually(lambda: bsky_app.status() if bsky_app.status()["state"] == "connected" else None)
    assert status["source"] == "bluesky"
    assert status["reason"] == f"Jetstream 127.0.0.1:{fake_jetstream.port}"
    page = bsky_app.client.get("/results/cats").get_data(as_text=True).lower()
    header = page[page.index('id="source-state"') :][:400]  # the header's source badge (wording may change)
    assert "bluesky" in header and "connected" in header


# -- resilience ----------------------------------------------------------------------------------------------
def test_a_connection_dropped_every_n_events_loses_nothing_and_duplicates_nothing(
    fake_jetstream: FakeJetstream, bsky_app: Harness
) -> None:
    bsky_app.watch("storm")
    fake_jetstream.drop_every(10)
    start = time.time_ns() // 1000 - 120_000_000
    expected = []
    for n in range(30):  # 2 s apart by Jetstream's clock: each rewind replays the last 3 events again
        expected.append(fake_jetstream.post(ALICE, f"storm update {n}", time_us=start + n * 2_000_000))
        if n % 7 == 0:
            fake_jetstream.publish(make_identity_event(BOB, time_us=start + n * 2_000_000 + 1))

    eventually(lambda: sorted(bsky_app.ids("storm")) == sorted(expected), timeout=15, message="all 30 posts")
    assert fake_jetstream.connections >= 4
    cursors = [r["cursor"] for r in fake_jetstream.requests[1:]]
    assert all(isinstance(c, int) and c <= start + 58_000_000 - REWIND_US for c in cursors)
    assert bsky_app.store is not None
    events = bsky_app.store.events_after("storm", "0")
    assert sorted(e.post_key for e in events if e.kind == "post") == sorted(f"bluesky:{i}" for i in expected)
    assert bsky_app.received() == 30  # the replayed overlap was dropped by (did, rkey) before the ingester
    assert bsky_app.ingester is not None
    assert bsky_app.ingester.counters.duplicates_skipped == 0


def test_a_silent_host_is_replaced_by_the_next_host_when_the_watchdog_fires(
    fake_profiles: FakeProfiles, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with FakeJetstream(silent=True) as silent, FakeJetstream() as good:
        settings = bsky_settings(silent.url, good.url, profiles=fake_profiles, bluesky_watchdog_seconds=0.5)
        with running_app(settings, tmp_path) as app:
            silent.wait_for_opened(1)
            good.wait_for_connections(1)
            silent.wait_for_connections(0)  # left by the client: the silent host never closes a connection
            warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
            assert any("no message from Jetstream for 0.5 s; trying" in w for w in warnings), warnings
            status = eventually(lambda: app.status() if good.url.split("/")[2] in app.status()["reason"] else None)
            assert status["state"] == "connected"
            app.watch("rescued")
            post_id = good.post(ALICE, "rescued by failover")
            eventually(lambda: app.ids("rescued") == [post_id])
            metrics = app.client.get("/metrics").get_data(as_text=True)
            assert "twitterstream_source_reconnects_total 1.0" in metrics


def test_the_cursor_survives_a_restart(
    fake_jetstream: FakeJetstream, fake_profiles: FakeProfiles, tmp_path: Path
) -> None:
    settings = bsky_settings(fake_jetstream.url, profiles=fake_profiles)
    with running_app(settings, tmp_path) as first:
        fake_jetstream.wait_for_connections(1)
        first.watch("lighthouse")
        before = [fake_jetstream.post(ALICE, f"lighthouse before {n}") for n in range(3)]
        eventually(lambda: len(first.ids("lighthouse")) == 3)
    last_time_us = json.loads(fake_jetstream.history[-1])["time_us"]
    assert fake_jetstream.requests[0]["cursor"] is None  # a first start is live only
    fake_jetstream.wait_for_connections(0)
    missed = [fake_jetstream.post(BOB, f"lighthouse while down {n}") for n in range(2)]

    with running_app(settings, tmp_path) as second:
        fake_jetstream.wait_for_connections(1)
        assert fake_jetstream.requests[-1]["cursor"] == last_time_us - REWIND_US
        eventually(lambda: sorted(second.ids("lighthouse")) == sorted(before + missed))
        events = second.store.events_after("lighthouse", "0")
        assert sorted(e.post_key for e in events if e.kind == "post") == sorted(f"bluesky:{i}" for i in before + missed)


def test_a_delete_removes_the_post_from_results_and_from_open_streams(
    fake_jetstream: FakeJetstream, bsky_app: Harness
) -> None:
    bsky_app.watch("ephemeral")
    rkey = new_tid()
    fake_jetstream.publish(make_post_event(ALICE, rkey, "an ephemeral thought"))
    kept = fake_jetstream.post(BOB, "an ephemeral but kept thought")
    eventually(lambda: len(bsky_app.ids("ephemeral")) == 2)

    response = bsky_app.client.get("/api/v1/stream", query_string={"q": "ephemeral"}, buffered=False)
    try:
        chunks = response.iter_encoded()  # keep-alives every 0.2 s: each next() returns soon
        read: list[str] = []

        def delete_arrived() -> bool:
            read.append(next(chunks).decode())
            return "event: delete" in "".join(read)

        fake_jetstream.publish(make_delete_event(ALICE, rkey))
        eventually(delete_arrived, timeout=5, message="a delete event on the stream")
        seen = "".join(read)
    finally:
        response.close()
    assert f'event: delete\ndata: {{"id":"{ALICE}/{rkey}"}}' in seen
    assert bsky_app.ids("ephemeral") == [kept]


@pytest.mark.parametrize(("show_adult", "show_sensitive"), [(False, False), (False, True), (True, False), (True, True)])
def test_self_labelled_adult_posts_are_kept_only_when_told_and_shown_only_when_sensitive_posts_are(
    fake_jetstream: FakeJetstream, fake_profiles: FakeProfiles, tmp_path: Path, show_adult: bool, show_sensitive: bool
) -> None:
    # BLUESKY_SHOW_ADULT decides whether an adult post is stored at all; TWITTERSTREAM_SHOW_SENSITIVE whether
    # a labelled post is shown (behind its content warning): kept but not shown is hidden from every page.
    settings = bsky_settings(
        fake_jetstream.url, profiles=fake_profiles, bluesky_show_adult=show_adult, show_sensitive=show_sensitive
    )
    with running_app(settings, tmp_path) as app:
        fake_jetstream.wait_for_connections(1)
        app.watch("sunset")
        adult = fake_jetstream.post(ALICE, "sunset photos", labels=["porn"])
        plain = fake_jetstream.post(BOB, "sunset over the bay")
        eventually(lambda: plain in app.ids("sunset"))  # published after the adult one: both were handled
        assert (app.store.get_post(f"bluesky:{adult}") is not None) is show_adult
        shown = show_adult and show_sensitive
        assert sorted(app.ids("sunset")) == sorted([plain, adult] if shown else [plain])
        if shown:
            [labelled] = [p for p in app.results("sunset") if p["id"] == adult]
            assert labelled["sensitive"] is True and labelled["content_warning"] == "Labelled by the author: porn"


def test_the_authors_handle_is_looked_up_once_and_used_for_later_posts(
    fake_jetstream: FakeJetstream, tmp_path: Path
) -> None:
    with (
        FakeProfiles({ALICE: ("alice.bsky.social", "Alice")}) as fake_profiles,
        running_app(bsky_settings(fake_jetstream.url, profiles=fake_profiles), tmp_path) as app,
    ):
        fake_jetstream.wait_for_connections(1)
        app.watch("kites")
        first = fake_jetstream.post(ALICE, "kites at dawn")
        eventually(lambda: app.ids("kites") == [first])
        source = app.ingester.source if app.ingester else None
        assert source is not None
        eventually(lambda: source.profiles.known(ALICE), message="the profile fetched in the background")
        second = fake_jetstream.post(ALICE, "kites at dusk")
        posts = eventually(lambda: (p := app.results("kites")) and len(p) == 2 and p)
        by_id = {p["id"]: p for p in posts}
        assert by_id[first]["author"]["username"] is None  # not known yet: the card falls back to the DID
        assert by_id[second]["author"] == {
            "id": ALICE,
            "username": "alice.bsky.social",
            "name": "Alice",
            "avatar_url": avatar_of(ALICE),
        }
        assert ">alice.bsky.social</a>" in by_id[second]["embed_html"]
        assert fake_profiles.asked == [ALICE]  # cached
