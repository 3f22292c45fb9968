"""Bluesky end to end: the real app and ingester against a fake Jetstream (and a fake profile API) on loopback."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

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
from harness import Harness, eventually, running_app
from samples import SAMPLES
from twitterstream.config import Settings
from twitterstream.sources.bluesky import REWIND_US

ALICE = fake_did("alice.bsky.social")
BOB = fake_did("bob.bsky.social")


class FakeProfiles:
    """A tiny public profile API (``app.bsky.actor.getProfile``) on 127.0.0.1: known DIDs answer 200, others 400.

    Each profile has the ready ``avatar`` URL on Bluesky's CDN that the real API gives.
    """

    def __init__(self, profiles: dict[str, tuple[str, str]]) -> None:
        self.profiles = profiles
        self.asked: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                actor = (parse_qs(parts.query).get("actor") or [""])[0]
                fake.asked.append(actor)
                known = fake.profiles.get(actor) if parts.path == "/xrpc/app.bsky.actor.getProfile" else None
                body = (
                    {"did": actor, "handle": known[0], "displayName": known[1], "avatar": avatar_of(actor)}
                    if known
                    else {"error": "InvalidRequest", "message": "Profile not found"}
                )
                data = json.dumps(body).encode()
                self.send_response(200 if known else 400)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeProfiles:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def avatar_of(did: str) -> str:
    """The avatar URL the fake profile API gives ``did``."""
    return f"https://cdn.bsky.app/img/avatar/plain/{did}/bafkreiavatar{len(did)}@jpeg"


def bsky_settings(*urls: str, profiles: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "source": "bluesky",
        "bluesky_jetstream_urls": urls,
        "bluesky_watchdog_seconds": 5.0,
        "bluesky_profile_url": profiles,
        "watch_grace_seconds": 60,
        "sse_keepalive_seconds": 0.2,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def profiles() -> Iterator[FakeProfiles]:
    with FakeProfiles({}) as fake:
        yield fake


@pytest.fixture
def jetstream() -> Iterator[FakeJetstream]:
    with FakeJetstream() as fake:
        yield fake


@pytest.fixture
def bsky_app(jetstream: FakeJetstream, profiles: FakeProfiles, tmp_path: Path) -> Iterator[Harness]:
    with running_app(bsky_settings(jetstream.url, profiles=profiles.url), tmp_path) as harness:
        jetstream.wait_for(lambda: jetstream.active == 1)
        yield harness


def watch(harness: Harness, *queries: str) -> None:
    """Open each query's results (which watches it) and wait until the ingester routes to all of them."""
    for query in queries:
        harness.results(query)
    assert harness.ingester is not None
    ingester = harness.ingester
    eventually(lambda: ingester.counters.watched_queries == len(queries), message=f"watching {queries}")


def post(fake: FakeJetstream, did: str, text: str, **fields: Any) -> str:
    """Publish a post create; returns its Post id (``did/rkey``)."""
    rkey = new_tid()
    fake.publish(make_post_event(did, rkey, text, **fields))
    return f"{did}/{rkey}"


def ids(harness: Harness, query: str) -> list[str]:
    return [p["id"] for p in harness.results(query, limit=100)]


def received(harness: Harness) -> int:
    """Posts the ingester received, every one of them stored by the time this returns."""
    assert harness.ingester is not None
    count = harness.ingester.counters.posts_received
    harness.ingester.flush()
    return count


def sample(name: str) -> str:
    return (SAMPLES / "bluesky" / f"{name}.json").read_text(encoding="utf-8").rstrip("\n")


# -- routing -----------------------------------------------------------------------------------------------
def test_keyword_hashtag_lang_reply_and_url_queries_get_the_right_posts(
    jetstream: FakeJetstream, bsky_app: Harness
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
    watch(bsky_app, *queries.values())

    tagged = post(jetstream, ALICE, "my cats nap all day #Caturday")
    french = post(jetstream, BOB, "les cats dorment", langs=["fr"])
    reply = post(jetstream, ALICE, "cats agree with you", reply=True)
    hidden = post(jetstream, BOB, "no hashtag in this text", tags=["hiddenTag"])
    link = post(
        jetstream,
        ALICE,
        "read example.com/some/pa...",
        facets=[
            {
                "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com/some/path"}],
                "index": {"byteStart": 5, "byteEnd": 27},
            }
        ],
    )
    card = post(jetstream, BOB, "a story worth reading", embed=external_embed("https://news.example.org/story"))
    jetstream.publish(make_like_event(BOB, f"at://{ALICE}/app.bsky.feed.post/{tagged.split('/')[1]}"))
    jetstream.publish(make_identity_event(ALICE, handle="alice.bsky.social"))
    jetstream.publish(make_account_event(BOB))
    photo = post(jetstream, ALICE, "cats in a box", embed=images_embed(2))
    for name in (
        "post_create_tag_facets",
        "post_create_reply",
        "post_create_link_facet_external_embed",
        "post_create_link_tag_facets_images_embed",
        "identity",
        "account",
        "post_delete",
    ):
        jetstream.publish_raw(sample(f"jetstream_v1_{name}"))
    last = post(jetstream, BOB, "the last one")
    eventually(lambda: received(bsky_app) == 12, message="12 posts decoded (likes, identity, account skipped)")

    assert set(ids(bsky_app, "cats")) == {tagged, french, reply, photo}
    assert ids(bsky_app, "#Caturday") == [tagged]
    assert ids(bsky_app, "#hiddenTag") == [hidden]  # from the record's tags, not in the text
    assert ids(bsky_app, "cats lang:fr") == [french]
    assert ids(bsky_app, "cats is:reply") == [reply]
    assert ids(bsky_app, "url:example.com") == [link]  # the facet's full URI, not the shortened text
    assert ids(bsky_app, "url:news.example.org") == [card]  # the external embed's URI
    assert ids(bsky_app, "#IndieRebellion lang:de") == ["did:plc:tn3hni2jpphsgl6amfbb7ja6/3mptbypfywk2v"]
    assert ids(bsky_app, "election is:reply") == ["did:plc:d3blkgynnwi3rp7vak25pfe3/3mptbyo7dms2m"]
    assert ids(bsky_app, "url:youtube.com") == ["did:plc:dclwtltrt2ggsryagfzk7dp4/3mptbyoeyc22k"]
    assert ids(bsky_app, "#talesatwonderworld") == ["did:plc:ynfp6wddjqpl44gordpsqkuw/3mptbyo7tas2u"]
    assert last not in {i for q in queries.values() for i in ids(bsky_app, q)}

    [shown] = bsky_app.results("#Caturday")
    rkey = tagged.split("/")[1]
    assert shown["url"] == f"https://bsky.app/profile/{ALICE}/post/{rkey}"
    assert shown["source"] == "bluesky" and shown["lang"] == "en"
    assert shown["author"]["id"] == ALICE
    assert shown["embed_html"].startswith(
        f'<blockquote class="bluesky-embed" data-bluesky-uri="at://{ALICE}/app.bsky.feed.post/{rkey}" '
    )


def test_a_new_query_fills_from_the_recent_window_at_once(jetstream: FakeJetstream, bsky_app: Harness) -> None:
    early = [post(jetstream, ALICE, f"penguins waddle {n}") for n in range(3)]
    post(jetstream, BOB, "nothing about birds")
    eventually(lambda: received(bsky_app) == 4)
    jetstream.wait_for(lambda: jetstream.sent == 4)

    first_look = bsky_app.results("penguins")  # not watched until now
    filled = eventually(lambda: ids(bsky_app, "penguins"), message="the page filled from the window")
    assert sorted(filled) == sorted(early)
    assert len(first_look) <= 3
    assert jetstream.sent == 4  # no new event was needed


def test_an_operator_bluesky_cannot_evaluate_is_refused_with_400(bsky_app: Harness) -> None:
    for query, operator in (("cats is:verified", "is:verified"), ("$AAPL", "cashtag")):
        response = bsky_app.client.get("/api/v1/results", query_string={"q": query})
        assert response.status_code == 400
        message = response.get_json()["error"]["message"]
        assert operator in message and "bluesky" in message
    page = bsky_app.client.get("/results/cats%20is%3Averified")
    assert page.status_code == 400
    assert "is:verified cannot be evaluated on bluesky posts" in page.get_data(as_text=True)


def test_readyz_and_the_results_page_name_the_source_and_its_state(jetstream: FakeJetstream, bsky_app: Harness) -> None:
    status = eventually(lambda: bsky_app.status() if bsky_app.status()["state"] == "connected" else None)
    assert status["source"] == "bluesky"
    assert status["reason"] == f"Jetstream 127.0.0.1:{jetstream.port}"
    page = bsky_app.client.get("/results/cats").get_data(as_text=True).lower()
    header = page[page.index('id="source-state"') :][:400]  # the header's source badge (wording may change)
    assert "bluesky" in header and "connected" in header


# -- resilience ----------------------------------------------------------------------------------------------
def test_a_connection_dropped_every_n_events_loses_nothing_and_duplicates_nothing(
    jetstream: FakeJetstream, bsky_app: Harness
) -> None:
    watch(bsky_app, "storm")
    jetstream.drop_every(10)
    start = time.time_ns() // 1000 - 120_000_000
    expected = []
    for n in range(30):  # 2 s apart by Jetstream's clock: each rewind replays the last 3 events again
        expected.append(post(jetstream, ALICE, f"storm update {n}", time_us=start + n * 2_000_000))
        if n % 7 == 0:
            jetstream.publish(make_identity_event(BOB, time_us=start + n * 2_000_000 + 1))

    eventually(lambda: sorted(ids(bsky_app, "storm")) == sorted(expected), timeout=15, message="all 30 posts")
    assert jetstream.connections >= 4
    cursors = [r["cursor"] for r in jetstream.requests[1:]]
    assert all(isinstance(c, int) and c <= start + 58_000_000 - REWIND_US for c in cursors)
    assert bsky_app.store is not None
    events = bsky_app.store.events_after("storm", "0")
    assert sorted(e.post_key for e in events if e.kind == "post") == sorted(f"bluesky:{i}" for i in expected)
    assert received(bsky_app) == 30  # the replayed overlap was dropped by (did, rkey) before the ingester
    assert bsky_app.ingester is not None
    assert bsky_app.ingester.counters.duplicates_skipped == 0


def test_a_silent_host_is_replaced_within_the_watchdog_time_by_the_next_host(
    profiles: FakeProfiles, tmp_path: Path
) -> None:
    with FakeJetstream(silent=True) as silent, FakeJetstream() as good:
        settings = bsky_settings(silent.url, good.url, profiles=profiles.url, bluesky_watchdog_seconds=0.5)
        with running_app(settings, tmp_path) as app:
            silent.wait_for(lambda: silent.connections == 1)
            connected_at = time.monotonic()
            good.wait_for(lambda: good.active == 1, timeout=5)
            assert time.monotonic() - connected_at < 0.5 + 0.5 + 1.0  # watchdog + the shortest backoff + slack
            status = eventually(lambda: app.status() if good.url.split("/")[2] in app.status()["reason"] else None)
            assert status["state"] == "connected"
            watch(app, "rescued")
            post_id = post(good, ALICE, "rescued by failover")
            eventually(lambda: ids(app, "rescued") == [post_id])
            metrics = app.client.get("/metrics").get_data(as_text=True)
            assert "twitterstream_source_reconnects_total 1.0" in metrics


def test_the_cursor_survives_a_restart(jetstream: FakeJetstream, profiles: FakeProfiles, tmp_path: Path) -> None:
    settings = bsky_settings(jetstream.url, profiles=profiles.url)
    with running_app(settings, tmp_path) as first:
        jetstream.wait_for(lambda: jetstream.active == 1)
        watch(first, "lighthouse")
        before = [post(jetstream, ALICE, f"lighthouse before {n}") for n in range(3)]
        eventually(lambda: len(ids(first, "lighthouse")) == 3)
    last_time_us = json.loads(jetstream.history[-1])["time_us"]
    assert jetstream.requests[0]["cursor"] is None  # a first start is live only
    jetstream.wait_for(lambda: jetstream.active == 0)
    missed = [post(jetstream, BOB, f"lighthouse while down {n}") for n in range(2)]

    with running_app(settings, tmp_path) as second:
        jetstream.wait_for(lambda: jetstream.active == 1)
        assert jetstream.requests[-1]["cursor"] == last_time_us - REWIND_US
        eventually(lambda: sorted(ids(second, "lighthouse")) == sorted(before + missed))
        events = second.store.events_after("lighthouse", "0")
        assert sorted(e.post_key for e in events if e.kind == "post") == sorted(f"bluesky:{i}" for i in before + missed)


def test_a_delete_removes_the_post_from_results_and_from_open_streams(
    jetstream: FakeJetstream, bsky_app: Harness
) -> None:
    watch(bsky_app, "ephemeral")
    rkey = new_tid()
    jetstream.publish(make_post_event(ALICE, rkey, "an ephemeral thought"))
    kept = post(jetstream, BOB, "an ephemeral but kept thought")
    eventually(lambda: len(ids(bsky_app, "ephemeral")) == 2)

    response = bsky_app.client.get("/api/v1/stream", query_string={"q": "ephemeral"}, buffered=False)
    try:
        chunks = response.iter_encoded()  # keep-alives every 0.2 s: each next() returns soon
        seen = ""
        deadline = time.monotonic() + 5
        jetstream.publish(make_delete_event(ALICE, rkey))
        while "event: delete" not in seen:
            assert time.monotonic() < deadline, f"no delete event on the stream: {seen!r}"
            seen += next(chunks).decode()
    finally:
        response.close()
    assert f'event: delete\ndata: {{"id":"{ALICE}/{rkey}"}}' in seen
    assert ids(bsky_app, "ephemeral") == [kept]


@pytest.mark.parametrize(("show_adult", "show_sensitive"), [(False, False), (False, True), (True, False), (True, True)])
def test_self_labelled_adult_posts_are_kept_only_when_told_and_shown_only_when_sensitive_posts_are(
    jetstream: FakeJetstream, profiles: FakeProfiles, tmp_path: Path, show_adult: bool, show_sensitive: bool
) -> None:
    # BLUESKY_SHOW_ADULT decides whether an adult post is stored at all; TWITTERSTREAM_SHOW_SENSITIVE whether
    # a labelled post is shown (behind its content warning): kept but not shown is hidden from every page.
    settings = bsky_settings(
        jetstream.url, profiles=profiles.url, bluesky_show_adult=show_adult, show_sensitive=show_sensitive
    )
    with running_app(settings, tmp_path) as app:
        jetstream.wait_for(lambda: jetstream.active == 1)
        watch(app, "sunset")
        adult = post(jetstream, ALICE, "sunset photos", labels=["porn"])
        plain = post(jetstream, BOB, "sunset over the bay")
        eventually(lambda: plain in ids(app, "sunset"))  # published after the adult one: both were handled
        assert (app.store.get_post(f"bluesky:{adult}") is not None) is show_adult
        shown = show_adult and show_sensitive
        assert sorted(ids(app, "sunset")) == sorted([plain, adult] if shown else [plain])
        if shown:
            [labelled] = [p for p in app.results("sunset") if p["id"] == adult]
            assert labelled["sensitive"] is True and labelled["content_warning"] == "Labelled by the author: porn"


def test_the_authors_handle_is_looked_up_once_and_used_for_later_posts(
    jetstream: FakeJetstream, tmp_path: Path
) -> None:
    with (
        FakeProfiles({ALICE: ("alice.bsky.social", "Alice")}) as profiles,
        running_app(bsky_settings(jetstream.url, profiles=profiles.url), tmp_path) as app,
    ):
        jetstream.wait_for(lambda: jetstream.active == 1)
        watch(app, "kites")
        first = post(jetstream, ALICE, "kites at dawn")
        eventually(lambda: ids(app, "kites") == [first])
        source = app.ingester.source if app.ingester else None
        assert source is not None
        eventually(lambda: source.profiles.known(ALICE), message="the profile fetched in the background")
        second = post(jetstream, ALICE, "kites at dusk")
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
        assert profiles.asked == [ALICE]  # cached
