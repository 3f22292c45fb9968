"""A Redis restart: the web says so on /readyz, the ingester waits, and nothing it received is lost."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from harness import eventually, running_app
from helpers import free_port
from twitterstream.config import Settings
from twitterstream.store.redis import RedisStore

pytestmark = pytest.mark.redis


class RedisProcess:
    """A private redis-server that the test can stop and start again on the same port."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed")
        self.binary = binary
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.02)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def redis_process() -> Iterator[RedisProcess]:
    server = RedisProcess()
    yield server
    server.stop()


def line(post_id: int, text: str) -> bytes:
    return orjson.dumps({"data": {"id": str(post_id), "text": text}}) + b"\n"


def test_a_redis_restart_is_reported_and_loses_nothing_the_ingester_received(
    redis_process: RedisProcess, settings: Settings, tmp_path: Path
) -> None:
    replay = Path(settings.replay_file)
    settings = settings.with_overrides(database_url=redis_process.url)
    store = RedisStore(redis_process.url)
    with running_app(settings, tmp_path, store=store) as app:
        app.client.get("/results/cats")
        with replay.open("ab") as capture:
            capture.write(line(1, "cats one"))
        eventually(lambda: [p["id"] for p in app.results("cats")] == ["1"])

        redis_process.stop()
        ready = app.client.get("/readyz")
        assert ready.status_code == 503
        assert "unavailable" in ready.get_json()["store"]
        assert app.client.get("/results/cats").status_code == 503  # a clear page, not a 500
        with replay.open("ab") as capture:  # received while Redis is down: held, not dropped
            capture.write(line(2, "cats two"))
        assert app.ingester is not None
        eventually(lambda: app.ingester is not None and app.ingester.counters.posts_received >= 2)

        redis_process.start()  # empty: Redis here keeps nothing on disk
        eventually(lambda: app.client.get("/readyz").status_code == 200)
        app.client.get("/results/cats")  # the viewer's page renews the watch
        eventually(lambda: "2" in [p["id"] for p in app.results("cats")], timeout=15, message="post 2 stored")
