"""Viewers: a viewer is an open page stream; the count drops when it closes; "Watched now" lists only
queries someone has open (issue 15). On both stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness import Harness, eventually, running_app
from twitterstream.config import Settings
from twitterstream.store import Store


@pytest.fixture
def site(settings: Settings, tmp_path: Path, any_store: Store) -> Iterator[Harness]:
    # keep-alives every 15 s, as in production: a closed stream must be noticed well before the next one
    with running_app(
        settings.with_overrides(sse_keepalive_seconds=15), tmp_path, start_ingester=False, store=any_store
    ) as h:
        yield h


def viewers(store: Store, key: str) -> int | None:
    return next((w.viewers for w in store.watched() if w.key == key), None)


def test_watched_now_lists_only_queries_with_viewers(site: Harness) -> None:
    hub = site.app.extensions["hub"]
    assert site.client.get("/results/cats").status_code == 200  # a page view: watched, but no stream open
    assert viewers(site.store, "cats") == 0
    index = site.client.get("/").get_data(as_text=True)
    assert 'data-query="cats"' not in index and "Nobody is watching anything right now" in index

    subscription = hub.subscribe("dogs", "dogs")
    index = site.client.get("/").get_data(as_text=True)
    assert 'data-query="dogs"' in index and "1 viewer<" in index
    hub.unsubscribe(subscription)
    assert viewers(site.store, "dogs") == 0  # still watched for the grace period, by nobody
    assert 'data-query="dogs"' not in site.client.get("/").get_data(as_text=True)


def test_a_closed_live_stream_stops_counting_as_a_viewer_within_a_second_or_two(site: Harness) -> None:
    with site.served() as base:
        url = f"{base}/api/v1/stream"
        with httpx.Client(timeout=10) as client, client.stream("GET", url, params={"q": "#nyc"}) as response:
            assert response.status_code == 200
            lines = response.iter_lines()  # kept: a dropped iterator closes the response
            assert next(lines).startswith("retry:")  # the stream is open and has started
            eventually(lambda: viewers(site.store, "#nyc") == 1, message="the open stream is a viewer")
            assert site.app.extensions["hub"].open_streams() == 1
            eventually(lambda: site.app.extensions["hub"].status, message="the hub's first sweep has run")
            assert viewers(site.store, "#nyc") == 1  # an open stream is not taken for a closed one
        # the client closed its connection; nothing is written to it for 15 s, yet the hub notices
        eventually(lambda: viewers(site.store, "#nyc") == 0, timeout=5, message="the closed stream still counts")
        eventually(lambda: site.app.extensions["hub"].open_streams() == 0, timeout=5)
        assert 'data-query="#nyc"' not in site.client.get("/").get_data(as_text=True)
