"""A wall on two sources at once: both networks' posts, each network's state, live while one is down."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from browser_server import Server, append_lines, replay_env, stream_line
from fakes.jetstream import FakeJetstream, fake_did, make_post_event, new_tid

pytestmark = pytest.mark.browser

ALICE = fake_did("alice.bsky.social")


def test_two_sources_fill_one_wall_and_it_stays_live_while_one_is_down(tmp_path: Path, page: Any) -> None:
    replay_file = tmp_path / "capture.jsonl"
    append_lines(replay_file, stream_line(1001, "kites from the capture", 1))
    jetstream = FakeJetstream().start()
    env = {
        **replay_env(replay_file, tmp_path / "instance"),
        "TWITTERSTREAM_SOURCE": "replay,bluesky",
        "BLUESKY_JETSTREAM_URL": jetstream.url,
        "BLUESKY_PROFILE_URL": "http://127.0.0.1:9",  # nothing answers: handles stay DIDs
    }
    server = Server(env, tmp_path)
    try:
        jetstream.wait_for_connections(1)
        page.goto(f"{server.url}/results/kites")
        status = page.locator("#live-status")
        expect(page.locator('#posts .post[data-id="1001"]')).to_be_visible()
        expect(status).to_have_text("Live")
        expect(page.locator('#source-states [data-source="replay"]')).to_contain_text("connected")
        expect(page.locator('#source-states [data-source="bluesky"]')).to_contain_text("connected")

        rkey = new_tid()
        jetstream.publish(make_post_event(ALICE, rkey, "kites from Bluesky"))
        expect(page.locator("#posts .post")).to_have_count(2)
        ids = page.eval_on_selector_all("#posts .post", "els => els.map(e => e.dataset.id)")
        assert ids == [f"{ALICE}/{rkey}", "1001"]  # newest first, across networks

        jetstream.stop()
        expect(status).to_have_text("Live · Bluesky reconnecting")
        expect(status).to_have_class("live-status is-live")
        expect(page.locator('#source-states [data-source="bluesky"]')).to_contain_text("reconnecting")
        expect(page.locator('#source-states [data-source="replay"]')).to_contain_text("connected")
        append_lines(replay_file, stream_line(1002, "kites while Bluesky is away", 2))
        expect(page.locator('#posts .post[data-id="1002"]')).to_be_visible()
    finally:
        server.stop()
        jetstream.stop()
    assert page.problems.dialogs == []
    # the conftest aborts Bluesky's embed script (no network in tests): its refusal is the only error allowed
    assert [e for e in page.problems.errors if "embed.bsky.app" not in e] == []


def test_a_query_on_one_network_shows_only_that_networks_state(tmp_path: Path, page: Any) -> None:
    replay_file = tmp_path / "capture.jsonl"
    append_lines(replay_file, stream_line(1001, "kites from the capture", 1))
    jetstream = FakeJetstream().start()
    env = {
        **replay_env(replay_file, tmp_path / "instance"),
        "TWITTERSTREAM_SOURCE": "replay,bluesky",
        "BLUESKY_JETSTREAM_URL": jetstream.url,
        "BLUESKY_PROFILE_URL": "http://127.0.0.1:9",
    }
    server = Server(env, tmp_path)
    try:
        jetstream.wait_for_connections(1)
        jetstream.stop()  # Bluesky reconnects from now on; the replay file delivers
        on_replay, on_bluesky = quote("kites source:replay", safe=""), quote("kites source:bluesky", safe="")

        page.goto(f"{server.url}/results/{on_replay}")
        expect(page.locator('#source-states [data-source="bluesky"]')).to_contain_text("reconnecting")  # the header
        expect(page.locator("#live-status")).to_have_text("Live")  # not "Live · Bluesky reconnecting"
        expect(page.locator('#posts .post[data-id="1001"]')).to_be_visible()

        page.goto(f"{server.url}/results/{on_bluesky}")
        expect(page.locator("#live-status")).to_contain_text(re.compile(r"Reconnecting to Bluesky (in \d+ s|now) — "))
        expect(page.locator("#live-status")).to_have_class("live-status is-reconnecting")
        expect(page.locator("#empty-why")).to_contain_text("cannot reach Bluesky right now")

        page.goto(f"{server.url}/results/kites")  # every network: Bluesky's state is its news
        expect(page.locator("#live-status")).to_have_text("Live · Bluesky reconnecting")

        page.goto(f"{server.url}/results/{on_replay}?view=screen")
        expect(page.locator("#screen-live")).to_have_text("Live")
        page.goto(f"{server.url}/results/{on_bluesky}?view=screen")
        expect(page.locator("#screen-live")).to_have_text("Reconnecting to Bluesky")

        page.goto(f"{server.url}/columns?q={on_bluesky}")  # one status line: the networks of its columns
        expect(page.locator("#live-status")).to_contain_text("Reconnecting to Bluesky — ")
        page.goto(f"{server.url}/columns?q={on_bluesky}&q={on_replay}")
        expect(page.locator("#live-status")).to_have_text("Live")
    finally:
        server.stop()
        jetstream.stop()
    assert page.problems.dialogs == [] and page.problems.errors == []
