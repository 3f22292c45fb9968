"""With several networks running, a query's page and stream speak of the networks it runs on.

The test writes what the ingester would publish (X refused its token, Bluesky and Mastodon connected...), so
no service is needed: what matters is what each query's status line and ``status`` events say about it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import orjson
import pytest

from harness import Harness, running_app
from twitterstream.config import Settings
from twitterstream.moderation import Wall
from twitterstream.query import parse
from twitterstream.store import Store
from twitterstream.store.state import INGESTER_STATE, IngesterState
from twitterstream.web.query_status import own_status

SEVERAL = ("x", "bluesky", "mastodon")
X_REFUSED = "X refused the token (401). Set X_BEARER_TOKEN and restart."


class Site:
    def __init__(self, harness: Harness, url: str) -> None:
        self.harness = harness
        self.url = url

    def page(self, path: str) -> str:
        answer = self.harness.client.get(path)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return answer.get_data(as_text=True)


@pytest.fixture
def site(settings: Settings, tmp_path: Path) -> Iterator[Site]:
    """X, Bluesky and Mastodon configured; no ingester: each test publishes the states it needs."""
    settings = settings.with_overrides(source="x", sources=SEVERAL, sse_keepalive_seconds=0.2)
    with running_app(settings, tmp_path, start_ingester=False) as harness, harness.served() as url:
        yield Site(harness, url)


def publish(store: Store, **states: str) -> None:
    """Publish a live ingester's state with each source (in order) in ``states``: ``x="stopped"``..."""
    sources = {
        name: {
            "source": name,
            "state": state,
            "reason": X_REFUSED if state == "stopped" else "cannot reach it" if state == "reconnecting" else "",
            "retry_at": None,
            "warning": "",
            "since": 0.0,
            "counters": {},
        }
        for name, state in states.items()
    }
    first = {k: v for k, v in next(iter(sources.values())).items() if k != "counters"}
    store.set_state(INGESTER_STATE, IngesterState("elsewhere", first, {}, sources=sources).to_json())


def status_events(response: httpx.Response, seconds: float = 5.0) -> Iterator[dict[str, Any]]:
    """Each ``status`` event's data, as it arrives; fails after ``seconds`` (keep-alives come every 0.2 s)."""
    deadline = time.monotonic() + seconds
    event = ""
    for line in response.iter_lines():
        assert time.monotonic() < deadline, f"no status event within {seconds} s"
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: ") and event == "status":
            yield orjson.loads(line.removeprefix("data: "))
    raise AssertionError("the stream ended")


def stream(site: Site, *queries: str) -> Any:
    return httpx.stream("GET", f"{site.url}/api/v1/stream", params={"q": list(queries)}, timeout=10)


def first_status(site: Site, *queries: str) -> dict[str, Any]:
    with stream(site, *queries) as response:
        assert response.status_code == 200
        return next(status_events(response))


def page_status(page: str, attribute: str = "data-status") -> dict[str, Any]:
    """The status a page hands its script."""
    found = re.search(attribute + r"='([^']*)'", page)
    assert found, f"no {attribute} in the page"
    status: dict[str, Any] = orjson.loads(found[1])
    return status


def live_text(page: str) -> str:
    found = re.search(r'<span class="live-text" id="live-text">(.*?)</span>', page, re.S)
    assert found
    return found[1].strip()


def results(query: str, **params: str) -> str:
    extra = "".join(f"&{k}={v}" for k, v in params.items())
    return f"/results/{quote(query, safe='')}" + (f"?{extra[1:]}" if extra else "")


# -- the stream's status events ------------------------------------------------------------------------------
def test_a_query_on_bluesky_alone_hears_only_of_bluesky_while_x_is_down(site: Site) -> None:
    publish(site.harness.store, x="stopped", bluesky="connected", mastodon="connected")
    status = first_status(site, "#a source:bluesky")
    assert status["networks"] == ["bluesky"]
    own = own_status(status)
    assert (own["source"], own["state"], own["reason"]) == ("bluesky", "connected", "")
    assert list(own["sources"]) == ["bluesky"]
    # what the status meant before stays: the first source's words, and every network (the header's badges)
    assert (status["source"], status["state"], status["reason"]) == ("x", "stopped", X_REFUSED)
    assert list(status["sources"]) == list(SEVERAL)


def test_a_query_on_every_network_hears_that_x_is_down(site: Site) -> None:
    publish(site.harness.store, x="stopped", bluesky="connected", mastodon="connected")
    status = first_status(site, "#a")
    assert status["networks"] == list(SEVERAL)
    own = own_status(status)
    assert (own["source"], own["state"], own["reason"]) == ("x", "stopped", X_REFUSED)
    assert {name: one["state"] for name, one in own["sources"].items()} == {
        "x": "stopped",
        "bluesky": "connected",
        "mastodon": "connected",
    }


def test_the_networks_are_those_that_follow_the_query(site: Site) -> None:
    publish(site.harness.store, x="connected", bluesky="connected", mastodon="connected")
    assert first_status(site, "cats is:verified")["networks"] == ["x"]  # nowhere else can evaluate is:verified
    assert first_status(site, "#a -source:x")["networks"] == ["bluesky", "mastodon"]
    assert first_status(site, "(source:x #a) OR #b")["networks"] == list(SEVERAL)


def test_a_status_change_reaches_each_stream_with_its_own_networks(site: Site) -> None:
    store = site.harness.store
    publish(store, x="stopped", bluesky="connected", mastodon="connected")
    with stream(site, "#a source:bluesky") as on_bluesky, stream(site, "#a") as everywhere:
        bluesky_events, every_events = status_events(on_bluesky), status_events(everywhere)
        assert next(bluesky_events)["networks"] == ["bluesky"] and next(every_events)["networks"] == list(SEVERAL)
        publish(store, x="stopped", bluesky="reconnecting", mastodon="connected")  # the hub broadcasts it
        changed = next(s for s in bluesky_events if s["sources"]["bluesky"]["state"] == "reconnecting")
        assert changed["networks"] == ["bluesky"]
        assert own_status(changed)["state"] == "reconnecting" and own_status(changed)["reason"] == "cannot reach it"
        changed = next(s for s in every_events if s["sources"]["bluesky"]["state"] == "reconnecting")
        assert changed["networks"] == list(SEVERAL) and own_status(changed)["state"] == "stopped"


def test_a_stream_of_several_queries_covers_the_networks_of_any_of_them(site: Site) -> None:
    publish(site.harness.store, x="stopped", bluesky="connected", mastodon="connected")
    status = first_status(site, "#a source:bluesky", "#b source:mastodon")
    assert status["networks"] == ["bluesky", "mastodon"]
    assert own_status(status)["state"] == "connected"
    assert first_status(site, "#a source:bluesky", "#b")["networks"] == list(SEVERAL)


def test_a_wall_stream_carries_the_networks_of_its_query(site: Site) -> None:
    store = site.harness.store
    publish(store, x="stopped", bluesky="connected", mastodon="connected")
    query = parse("#kites source:mastodon")
    store.put_wall("kites", Wall("kites", "Kites", query.text, query.key).to_record())
    with httpx.stream("GET", f"{site.url}/api/v1/walls/kites/stream", timeout=10) as response:
        assert response.status_code == 200
        assert next(status_events(response))["networks"] == ["mastodon"]
    page = site.page("/wall/kites")
    assert page_status(page)["networks"] == ["mastodon"] and live_text(page) == "Connecting…"


# -- the pages -----------------------------------------------------------------------------------------------
def test_the_results_page_of_a_bluesky_query_does_not_say_x_is_down(site: Site) -> None:
    publish(site.harness.store, x="stopped", bluesky="connected", mastodon="connected")
    page = site.page(results("#a source:bluesky"))
    assert page_status(page)["networks"] == ["bluesky"]
    assert live_text(page) == "Connecting…"  # results.js says "Live" once its stream is open
    assert "recent posts from Bluesky had no match" in page  # the empty state names its network, not X's
    assert 'class="source-state state-stopped" data-source="x"' in page  # the header still shows every network

    everywhere = site.page(results("#a"))
    assert page_status(everywhere)["networks"] == list(SEVERAL)
    assert live_text(everywhere) == "X is down"


def banner(page: str) -> str:
    """The source banner's words, or "" when it is hidden."""
    found = re.search(
        r'<p class="banner banner-source[^"]*" id="source-banner"\s+role="alert" ?(hidden)?>(.*?)</p>', page, re.S
    )
    assert found, "no source banner"
    return "" if found[1] else re.sub(r"<[^>]+>", "", found[2]).strip()


def test_the_banner_of_a_bluesky_query_is_silent_about_x(site: Site) -> None:
    publish(site.harness.store, x="stopped", bluesky="connected", mastodon="connected")
    assert banner(site.page(results("#a source:bluesky"))) == ""
    assert banner(site.page(results("#a"))).startswith("X is not delivering posts.")
    assert banner(site.page("/")).startswith("X is not delivering posts.")  # no query: every network


def test_the_results_page_of_a_bluesky_query_says_when_bluesky_reconnects(site: Site) -> None:
    publish(site.harness.store, x="connected", bluesky="reconnecting", mastodon="connected")
    page = site.page(results("#a source:bluesky"))
    assert live_text(page) == "Reconnecting to Bluesky — cannot reach it"
    assert "TwitterStream cannot reach Bluesky right now" in page
    assert live_text(site.page(results("#a source:x"))) == "Connecting…"


def test_the_screen_view_and_the_columns_page_carry_their_networks(site: Site) -> None:
    publish(site.harness.store, x="stopped", bluesky="connected", mastodon="connected")
    screen = site.page(results("#a source:bluesky", view="screen"))
    assert page_status(screen)["networks"] == ["bluesky"]
    columns = site.page("/columns?q=" + quote("#a source:bluesky") + "&q=" + quote("#b -source:x"))
    assert page_status(columns)["networks"] == ["bluesky", "mastodon"]


# -- own_status: what a status line reads ------------------------------------------------------------------
def _status(networks: Any) -> dict[str, Any]:
    sources = {
        "x": {"source": "x", "state": "stopped", "reason": "no", "retry_at": None, "warning": "", "since": 1.0},
        "bluesky": {"source": "bluesky", "state": "connected", "reason": "", "retry_at": None, "warning": "w", "since": 2.0},
    }  # fmt: skip
    return {**sources["x"], "ingester": "running", "sources": sources, "networks": networks}


def test_own_status_reads_the_first_of_its_networks() -> None:
    own = own_status(_status(["bluesky"]))
    assert own == {
        **_status(None)["sources"]["bluesky"],
        "ingester": "running",
        "sources": {"bluesky": _status(None)["sources"]["bluesky"]},
        "networks": ["bluesky"],
    }
    assert own_status(_status(["bluesky", "x"]))["source"] == "x"  # the first source, when it is one of them


def test_own_status_without_networks_it_knows_is_the_status_itself() -> None:
    for networks in (None, [], ["mastodon"], "bluesky"):
        assert own_status(_status(networks)) == _status(networks)
