"""Beyond one process: two web processes and two ingesters sharing a real Redis, against a fake X."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from fakes.x_api import FakeX
from harness import X_TOKEN, eventually
from processes import AppProcess, SSEClient
from twitterstream.store.redis import RedisStore

pytestmark = pytest.mark.redis


@pytest.fixture
def store(redis_server: str) -> Iterator[RedisStore]:
    redis.Redis.from_url(redis_server).flushdb()  # a private redis-server: start empty
    store = RedisStore(redis_server)
    yield store
    store.close()


@pytest.fixture
def env(fake_x: FakeX, redis_server: str) -> dict[str, str]:
    return {
        "DATABASE_URL": redis_server,
        "TWITTERSTREAM_SOURCE": "x",
        "X_BEARER_TOKEN": X_TOKEN,
        "X_API_URL": fake_x.base_url,
        "X_OEMBED_URL": fake_x.oembed_url,
        "SECRET_KEY": "shared-by-the-replicas",
        "TWITTERSTREAM_LOCK_TTL": "2",
        "LOG_LEVEL": "INFO",
    }


def test_two_web_processes_and_a_standby_ingester_lose_nothing_and_duplicate_nothing(
    fake_x: FakeX, store: RedisStore, env: dict[str, str], tmp_path: Path
) -> None:
    started: list[AppProcess] = []
    readers: list[SSEClient] = []
    try:
        first_ingester = AppProcess(["ingest", "--port", "0"], env, tmp_path)
        started.append(first_ingester)
        eventually(lambda: "is active" in first_ingester.output, message="the first ingester takes the lock")
        standby = AppProcess(["ingest", "--port", "0"], env, tmp_path)
        started.append(standby)
        eventually(lambda: "standby" in httpx.get(f"{standby.url}/readyz").text, message="the second one waits")
        web_a = AppProcess(["web", "--port", "0", "--workers", "1"], env, tmp_path)
        started.append(web_a)
        web_b = AppProcess(["web", "--port", "0", "--workers", "1"], env, tmp_path)
        started.append(web_b)

        # A query watched through web A (its page and live stream) streams live on web B too.
        assert httpx.get(f"{web_a.url}/results/%23nyc").status_code == 200
        readers = [SSEClient(f"{web.url}/api/v1/stream?q=%23nyc") for web in (web_a, web_b)]
        for reader in readers:
            assert reader.connected.wait(10)
        fake_x.wait_for(
            lambda: fake_x.active_streams == 1 and len(fake_x.rules) == 1,
            timeout=10,
            description="rule added and stream open",
        )
        first = fake_x.post("first #nyc")
        for reader in readers:
            eventually(lambda reader=reader: reader.post_ids == [first], message="live on both web processes")
        on_b = httpx.get(f"{web_b.url}/api/v1/results", params={"q": "#nyc"}).json()["posts"]
        assert [p["id"] for p in on_b] == [first]

        # kill -9 the active ingester: the standby takes over and fills the gap.
        first_ingester.kill()
        missed = [fake_x.post(f"while nobody holds the stream {n} #nyc") for n in range(3)]
        fake_x.wait_for(
            lambda: fake_x.stream_connects == 2 and fake_x.active_streams == 1,
            timeout=15,
            description="the standby connected",
        )
        last = fake_x.post("after the takeover #nyc")
        expected = sorted([first, *missed, last], key=int, reverse=True)

        def stored_ids() -> list[str]:
            posts = httpx.get(f"{web_b.url}/api/v1/results", params={"q": "#nyc", "limit": 100}).json()["posts"]
            return [p["id"] for p in posts]

        eventually(lambda: stored_ids() == expected, timeout=15, message="every post, once")
        events = store.events_after("#nyc", "0")
        assert sorted(e.post_key for e in events if e.kind == "post") == sorted(f"x:{i}" for i in expected)
        for reader in readers:
            eventually(
                lambda reader=reader: sorted(reader.post_ids) == sorted(expected),
                message="each stream got each post once",
            )
        assert fake_x.max_concurrent_streams == 1  # never two stream connections at once
    finally:
        for reader in readers:
            reader.close()
        for process in reversed(started):
            process.stop()
        if os.environ.get("SHOW_PROCESS_OUTPUT"):
            for process in started:
                print(process.output)
