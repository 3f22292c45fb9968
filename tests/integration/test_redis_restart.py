"""A Redis restart: the web says so on /readyz, the ingester waits, and nothing it received is lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import eventually, running_app
from helpers import RedisProcess, replay_line
from twitterstream.config import Settings
from twitterstream.store.redis import RedisStore

pytestmark = pytest.mark.redis


def test_a_redis_restart_is_reported_and_loses_nothing_the_ingester_received(
    redis_process: RedisProcess, settings: Settings, tmp_path: Path
) -> None:
    replay = Path(settings.replay_file)
    settings = settings.with_overrides(database_url=redis_process.url)
    store = RedisStore(redis_process.url)
    with running_app(settings, tmp_path, store=store) as app:
        app.client.get("/results/cats")
        with replay.open("ab") as capture:
            capture.write(replay_line(1, "cats one"))
        eventually(lambda: [p["id"] for p in app.results("cats")] == ["1"])

        redis_process.stop()
        ready = app.client.get("/readyz")
        assert ready.status_code == 503
        assert "unavailable" in ready.get_json()["store"]
        assert app.client.get("/results/cats").status_code == 503  # a clear page, not a 500
        with replay.open("ab") as capture:  # received while Redis is down: held, not dropped
            capture.write(replay_line(2, "cats two"))
        assert app.ingester is not None
        eventually(lambda: app.ingester is not None and app.ingester.counters.posts_received >= 2)

        redis_process.start()  # empty: Redis here keeps nothing on disk
        eventually(lambda: app.client.get("/readyz").status_code == 200)
        app.client.get("/results/cats")  # the viewer's page renews the watch
        eventually(lambda: "2" in [p["id"] for p in app.results("cats")], timeout=15, message="post 2 stored")
