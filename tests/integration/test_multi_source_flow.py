"""Several sources in one ingester, end to end: the real app and ingester against two fakes at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import orjson

from fakes.jetstream import FakeJetstream, fake_did
from fakes.mastodon import FakeMastodon
from fakes.x_api import FakeX
from harness import MASTODON_TOKEN, X_TOKEN, Harness, eventually, running_app, settings_for

ALICE = fake_did("alice.bsky.social")


def results(harness: Harness, query: str) -> list[tuple[str, str]]:
    return [(p["source"], p["id"]) for p in harness.results(query, limit=100)]


def readyz(harness: Harness) -> dict[str, Any]:
    body: dict[str, Any] = harness.client.get("/readyz").get_json()
    return body


# -- X and Bluesky -------------------------------------------------------------------------------------------
def test_x_and_bluesky_fill_one_query_newest_first_and_x_takes_only_its_rules(
    fake_x: FakeX, fake_jetstream: FakeJetstream, tmp_path: Path
) -> None:
    with running_app(settings_for(x=fake_x, jetstream=fake_jetstream), tmp_path) as app:
        fake_jetstream.wait_for_connections(1)
        app.watch("cats", "cats is:verified")
        fake_x.wait_for(
            lambda: (
                sorted(r["value"] for r in fake_x.rules.values()) == ["cats", "cats is:verified"]
                and fake_x.active_streams == 1
            ),
            description="both queries as X rules, and an open stream",
        )
        from_x = fake_x.post("cats on X")
        eventually(lambda: results(app, "cats") == [("x", from_x)], message="the X post")
        from_bluesky = fake_jetstream.post(ALICE, "cats on Bluesky")
        eventually(
            lambda: results(app, "cats") == [("bluesky", from_bluesky), ("x", from_x)],
            message="both networks, newest first",
        )
        # is:verified cannot be evaluated on Bluesky posts: that query runs on X alone
        assert all(source == "x" for source, _ in results(app, "cats is:verified"))
        page = app.client.get("/results/cats%20is%3Averified").get_data(as_text=True)
        assert 'id="networks">On X; not on Bluesky (is:verified cannot be evaluated on its posts)' in page
        both = app.client.get("/results/cats").get_data(as_text=True)
        assert 'id="networks">On X, Bluesky</p>' in both

        body = eventually(lambda: (b := readyz(app)) and b["sources"]["bluesky"]["state"] == "connected" and b)
        assert set(body["sources"]) == {"x", "bluesky"}
        assert body["sources"]["x"]["state"] == "connected" and body["verdict"] == "ok" and body["ready"]
        assert body["source"]["source"] == "x"  # the first source, for readers that know one
        assert 'data-source="x"' in both and 'data-source="bluesky"' in both
        assert X_TOKEN not in both and X_TOKEN not in str(body)

        metrics = app.client.get("/metrics").get_data(as_text=True)
        assert 'twitterstream_posts_received_by_source_total{source="bluesky"}' in metrics
        assert 'twitterstream_posts_received_by_source_total{source="x"}' in metrics
        assert "twitterstream_posts_received_total " in metrics  # the total stays, unlabelled


def test_bluesky_keeps_delivering_when_x_refuses_the_token(fake_jetstream: FakeJetstream, tmp_path: Path) -> None:
    with (
        FakeX(bearer_token="another-token", keepalive_interval=0.5) as fake_x,
        running_app(settings_for(x=fake_x, jetstream=fake_jetstream), tmp_path) as app,
    ):
        fake_jetstream.wait_for_connections(1)
        app.watch("cats")
        body = eventually(lambda: (b := readyz(app)) and b["sources"]["x"]["state"] == "stopped" and b)
        assert body["verdict"] == "degraded" and body["ready"]
        assert body["sources"]["bluesky"]["state"] == "connected"
        from_bluesky = fake_jetstream.post(ALICE, "cats after X said no")
        eventually(lambda: results(app, "cats") == [("bluesky", from_bluesky)])
        page = app.client.get("/results/cats").get_data(as_text=True)
        assert 'class="source-state state-stopped" data-source="x"' in page
        assert 'class="source-state state-connected" data-source="bluesky"' in page


def first_status(url: str, query: str) -> dict[str, Any]:
    """The first ``status`` event of the query's live stream."""
    with httpx.stream("GET", f"{url}/api/v1/stream", params={"q": query}, timeout=10) as response:
        lines = response.iter_lines()
        assert next(lines) == "retry: 2000" and next(lines) == "event: status"
        status: dict[str, Any] = orjson.loads(next(lines).removeprefix("data: "))
        return status


def test_while_x_refuses_the_token_a_bluesky_query_reports_only_bluesky(
    fake_jetstream: FakeJetstream, tmp_path: Path
) -> None:
    with (
        FakeX(bearer_token="another-token", keepalive_interval=0.5) as fake_x,
        running_app(settings_for(x=fake_x, jetstream=fake_jetstream), tmp_path) as app,
        app.served() as url,
    ):
        fake_jetstream.wait_for_connections(1)
        eventually(lambda: readyz(app)["sources"]["x"]["state"] == "stopped")
        eventually(lambda: readyz(app)["sources"]["bluesky"]["state"] == "connected")

        on_bluesky = first_status(url, "cats source:bluesky")
        assert on_bluesky["networks"] == ["bluesky"]
        assert on_bluesky["sources"]["bluesky"]["state"] == "connected"
        assert on_bluesky["state"] == "stopped"  # the first source's words, as before, for readers of one source
        everywhere = first_status(url, "cats")
        assert everywhere["networks"] == ["x", "bluesky"] and everywhere["sources"]["x"]["state"] == "stopped"

        page = app.client.get("/results/cats%20source%3Abluesky").get_data(as_text=True)
        assert '<span class="live-text" id="live-text">Connecting…</span>' in page  # live once its stream opens
        assert 'class="source-state state-stopped" data-source="x"' in page  # the header: every network
        page = app.client.get("/results/cats").get_data(as_text=True)
        assert '<span class="live-text" id="live-text">X is down</span>' in page


def test_x_keeps_delivering_while_jetstream_is_gone(fake_x: FakeX, tmp_path: Path) -> None:
    fake_jetstream = FakeJetstream().start()
    try:
        with running_app(settings_for(x=fake_x, jetstream=fake_jetstream), tmp_path) as app:
            fake_jetstream.wait_for_connections(1)
            app.watch("cats")
            fake_x.wait_for_connections(1)
            first = fake_jetstream.post(ALICE, "cats before the outage")
            eventually(lambda: results(app, "cats") == [("bluesky", first)])
            fake_jetstream.stop()
            eventually(lambda: readyz(app)["sources"]["bluesky"]["state"] == "reconnecting")
            from_x = fake_x.post("cats while Bluesky is down")
            eventually(lambda: results(app, "cats") == [("x", from_x), ("bluesky", first)])
            body = readyz(app)
            assert body["verdict"] == "degraded" and body["sources"]["x"]["state"] == "connected"
    finally:
        fake_jetstream.stop()


# -- Bluesky and Mastodon ------------------------------------------------------------------------------------
def test_bluesky_and_mastodon_fill_one_query_and_one_outage_leaves_the_other(
    fake_jetstream: FakeJetstream, tmp_path: Path
) -> None:
    fake_mastodon = FakeMastodon(access_token=MASTODON_TOKEN, heartbeat_interval=0.2).start()
    try:
        with running_app(settings_for(jetstream=fake_jetstream, mastodon=fake_mastodon), tmp_path) as app:
            fake_jetstream.wait_for_connections(1)
            app.watch("kites", "kites is:quote")
            fake_mastodon.wait_for_connections(1)
            from_mastodon = fake_mastodon.post("<p>kites over the bay</p>")
            eventually(lambda: results(app, "kites") == [("mastodon", from_mastodon)])
            from_bluesky = fake_jetstream.post(ALICE, "kites at dusk")
            eventually(lambda: results(app, "kites") == [("bluesky", from_bluesky), ("mastodon", from_mastodon)])
            page = app.client.get("/results/kites%20is%3Aquote").get_data(as_text=True)
            assert "On Bluesky; not on Mastodon (is:quote cannot be evaluated on its posts)" in page

            fake_mastodon.stop()
            eventually(lambda: readyz(app)["sources"]["mastodon"]["state"] == "reconnecting")
            later = fake_jetstream.post(ALICE, "kites while Mastodon is away")
            eventually(lambda: [i for _, i in results(app, "kites")] == [later, from_bluesky, from_mastodon])
            assert readyz(app)["verdict"] == "degraded"
    finally:
        fake_mastodon.stop()


def test_a_query_no_running_source_can_evaluate_is_refused_with_both_names(
    fake_jetstream: FakeJetstream, fake_mastodon: FakeMastodon, tmp_path: Path
) -> None:
    with running_app(settings_for(jetstream=fake_jetstream, mastodon=fake_mastodon), tmp_path) as app:
        response = app.client.get("/api/v1/results", query_string={"q": "cats is:verified"})
        assert response.status_code == 400
        message = response.get_json()["error"]["message"]
        assert message.startswith("is:verified cannot be evaluated on bluesky or mastodon posts")


def test_a_query_one_source_cannot_follow_is_served_by_the_other_and_the_page_names_which(
    fake_jetstream: FakeJetstream, tmp_path: Path
) -> None:
    with FakeMastodon(rate_window=1) as fake_mastodon:  # no token: Mastodon follows hashtag queries only
        settings = settings_for(jetstream=fake_jetstream, mastodon=fake_mastodon)
        settings = settings.with_overrides(mastodon_access_token=None, mastodon_poll_seconds=0.05)
        with running_app(settings, tmp_path) as app:
            fake_jetstream.wait_for_connections(1)
            app.watch("kites")
            page = eventually(
                lambda: (
                    (p := app.client.get("/results/kites").get_data(as_text=True)) and "Mastodon: A query" in p and p
                )
            )
            assert "Not every network can serve this query." in page
            from_bluesky = fake_jetstream.post(ALICE, "kites all the same")
            eventually(lambda: results(app, "kites") == [("bluesky", from_bluesky)])


# -- source:, the network filter -----------------------------------------------------------------------------
def test_source_picks_the_networks_and_x_is_sent_only_what_it_must_follow(
    fake_x: FakeX, fake_jetstream: FakeJetstream, tmp_path: Path
) -> None:
    with running_app(settings_for(x=fake_x, jetstream=fake_jetstream), tmp_path) as app:
        fake_jetstream.wait_for_connections(1)
        only_bluesky, not_x, mixed, only_x = (
            "#kites source:bluesky",
            "#kites -source:x",
            "(source:x #kites) OR #dusk",
            "#kites source:x",
        )
        app.watch(only_bluesky, not_x, mixed, only_x)
        fake_x.wait_for(
            lambda: (
                sorted(r["value"] for r in fake_x.rules.values()) == ["#kites", "#kites OR #dusk"]
                and fake_x.active_streams == 1
            ),
            description="X holds the two rules it must follow, without source:",
        )
        kites_x, dusk_x = fake_x.post("#kites on X"), fake_x.post("#dusk on X")
        kites_bluesky, dusk_bluesky = (
            fake_jetstream.post(ALICE, "#kites on Bluesky"),
            fake_jetstream.post(ALICE, "#dusk on Bluesky"),
        )
        # Which network's post is newest depends on the fakes' clocks (a millisecond apart): the set, then the order.
        eventually(lambda: set(results(app, mixed)) == {("bluesky", dusk_bluesky), ("x", dusk_x), ("x", kites_x)})
        posted = [post["created_at"] for post in app.results(mixed, limit=100)]
        assert posted == sorted(posted, reverse=True)  # newest first across the networks
        assert results(app, only_bluesky) == [("bluesky", kites_bluesky)]
        assert results(app, not_x) == [("bluesky", kites_bluesky)]
        assert results(app, only_x) == [("x", kites_x)]

        page = app.client.get("/results/%23kites%20source%3Abluesky").get_data(as_text=True)
        assert 'id="networks">On Bluesky; not on X (left out by source:)</p>' in page
        refused = app.client.get("/api/v1/results", query_string={"q": "#kites source:mastodon"})
        assert refused.status_code == 400
        assert refused.get_json()["error"] == {
            "message": "source: leaves out every network running here (X and Bluesky)",
            "position": 8,
        }
