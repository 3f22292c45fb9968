"""The X cost guard end to end: the app and ingester against the fake X, which counts what it delivered.

At the cap (ours or X's) the stream closes, no search is made, stored posts are still served, and the pages,
``/readyz``, the logs and ``/metrics`` say so; at 80% they warn; past the reset day reading resumes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest

from fakes.x_api import FakeX
from fakes.x_usage import UsageMeter
from harness import X_TOKEN, Harness, eventually, running_app, settings_for
from twitterstream.ingest import Ingester
from twitterstream.sources.x import XSource
from twitterstream.sources.x_usage import CostGuard


def fake_x_with_usage(**usage: int) -> FakeX:
    """The fake X with the project's usage figures as X reports them."""
    return FakeX(bearer_token=X_TOKEN, keepalive_interval=0.5, usage=UsageMeter(**usage))


def watch(app: Harness, query: str) -> None:
    assert app.client.get("/results/" + quote(query)).status_code == 200


def logged(caplog: pytest.LogCaptureFixture, text: str) -> Callable[[], bool]:
    return lambda: any(text in r.getMessage() for r in caplog.records)


@pytest.fixture(autouse=True)
def _info_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="twitterstream")


def test_our_cap_reached_mid_stream_closes_the_stream_stops_searches_and_says_so_everywhere(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with fake_x_with_usage(project_cap=2_000_000, project_usage=0, cap_reset_day=1) as fake:
        settings = settings_for(x=fake, x_monthly_post_cap=5, x_price_per_post=0.5)
        with running_app(settings, tmp_path) as app:
            watch(app, "cats")
            fake.wait_for_connections(1)
            searches = fake.search_calls
            ids = [fake.post(f"cats {n}") for n in range(5)]

            fake.wait_for_connections(0)
            status = eventually(lambda: app.status() if app.status()["state"] == "paused" else None)
            words = "X reading is paused: the monthly post cap is reached (5 of 5); it resumes on "
            assert status["reason"].startswith(words)
            assert fake.usage.posts_delivered == 5

            # no more searches: a new query is neither searched nor streamed
            watch(app, "dogs")
            eventually(logged(caplog, "no recent search for 'dogs'"))
            assert fake.search_calls == searches
            assert fake.stream_connects == 1

            # what is stored is still served, and every place a person or a monitor looks says why
            assert app.ingester is not None
            app.ingester.flush()
            assert [p["id"] for p in app.results("cats")] == list(reversed(ids))
            ready = app.client.get("/readyz")
            assert ready.status_code == 200 and ready.get_json()["ready"] is True
            assert ready.get_json()["source"]["state"] == "paused"
            assert ready.get_json()["source"]["x_usage"] == {
                "posts_read": 5,
                "post_cap": 5,
                "estimated_spend_usd": 2.5,
            }
            page = app.client.get("/results/cats").get_data(as_text=True)
            assert words in page and "Posts already stored are still shown." in page
            assert 'class="source-state state-paused"' in page
            index = app.client.get("/").get_data(as_text=True)
            assert words in index and "X posts read this month: 5 of 5" in index and "$2.50" in index
            metrics = app.client.get("/metrics").get_data(as_text=True)
            assert "twitterstream_x_posts_read 5.0" in metrics
            assert "twitterstream_x_post_cap 5.0" in metrics
            assert "twitterstream_x_estimated_spend_usd 2.5" in metrics
            assert logged(caplog, words)()


def test_x_already_at_its_cap_at_start_means_no_stream_and_no_search(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with fake_x_with_usage(project_cap=1_000, project_usage=1_000, cap_reset_day=19) as fake:
        fake.post("cats in the archive", deliver=False)
        with running_app(settings_for(x=fake), tmp_path) as app:
            watch(app, "cats")
            status = eventually(lambda: app.status() if app.status()["state"] == "paused" else None)
            assert "the monthly post cap is reached (1,000 of 1,000)" in status["reason"]
            eventually(logged(caplog, "no recent search for 'cats'"))
            fake.wait_for(lambda: any(r["value"] == "cats" for r in fake.rules.values()), description="the rule")
            assert (fake.stream_connects, fake.search_calls) == (0, 0)
            assert fake.usage.calls >= 1
            assert app.results("cats") == []


def test_at_80_percent_a_warning_in_the_status_the_pages_and_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        fake_x_with_usage(project_cap=10, project_usage=7, cap_reset_day=1) as fake,
        running_app(settings_for(x=fake), tmp_path) as app,
    ):
        watch(app, "cats")
        fake.wait_for_connections(1)
        assert app.status()["warning"] == ""
        fake.post("cats once")
        warning = "80% of the monthly post cap read (8 of 10)"
        status = eventually(lambda: app.status() if app.status()["warning"] else None)
        assert (status["state"], status["warning"]) == ("connected", warning)
        assert fake.active_streams == 1  # still reading
        page = app.client.get("/results/cats").get_data(as_text=True)
        assert f"<strong>X:</strong> {warning}." in page
        assert logged(caplog, "X reading: " + warning)()


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_reading_resumes_by_itself_after_the_reset_day(tmp_path: Path) -> None:
    clock = Clock(datetime(2026, 9, 20, 8, 0, tzinfo=UTC))
    with fake_x_with_usage(project_cap=1_000, project_usage=1_000, cap_reset_day=1) as fake:
        settings = settings_for(x=fake, x_usage_check_seconds=0.2)

        def source(ingester: Ingester) -> XSource:
            return XSource(settings, ingester, guard=CostGuard(None, 0.005, clock=clock))

        with running_app(settings, tmp_path, source_factory=source) as app:
            watch(app, "cats")
            status = eventually(lambda: app.status() if app.status()["state"] == "paused" else None)
            assert status["reason"].endswith("it resumes on 1 October 2026 (UTC)")
            assert status["retry_at"] == datetime(2026, 10, 1, tzinfo=UTC).timestamp()
            assert fake.stream_connects == 0

            fake.usage.set(project_usage=0)  # X starts the month again...
            clock.now = datetime(2026, 10, 1, 0, 0, 5, tzinfo=UTC)  # ...on the reset day
            fake.wait_for_connections(1)
            eventually(lambda: app.status()["state"] == "connected")
            fake.post("cats are back")
            eventually(lambda: len(app.results("cats")) == 1)


def test_a_higher_cap_after_a_restart_resumes_reading(tmp_path: Path) -> None:
    with fake_x_with_usage(project_cap=2_000_000, project_usage=300, cap_reset_day=1) as fake:
        with running_app(settings_for(x=fake, x_monthly_post_cap=300), tmp_path) as app:
            watch(app, "cats")
            eventually(lambda: app.status()["state"] == "paused")
        assert fake.stream_connects == 0
        with running_app(settings_for(x=fake, x_monthly_post_cap=1_000), tmp_path) as app:
            watch(app, "cats")
            fake.wait_for_connections(1)
            eventually(lambda: app.status()["state"] == "connected")
