"""Fixtures: stores (SQLite always, Redis when a redis-server binary exists), settings, the app."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from helpers import free_port
from twitterstream.config import Settings
from twitterstream.store import Store
from twitterstream.store.sqlite import SQLiteStore

IN_CI = bool(os.environ.get("CI"))


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """A private redis-server on a free port (not the machine's shared one), stopped at the end."""
    binary = shutil.which("redis-server")
    if binary is None:
        message = "redis-server is not installed: Redis tests cannot run (.ci/run installs it)"
        if IN_CI:
            pytest.fail(message)
        print(f"\n!!! SKIPPING REDIS TESTS: {message} !!!", file=sys.stderr)
        pytest.skip(message)
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("redis-server did not start")
            time.sleep(0.02)
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(timeout=10)


def _redis_store(url: str) -> Store:
    from twitterstream.store.redis import RedisStore

    redis.Redis.from_url(url).flushdb()  # a private redis-server: start empty
    store = RedisStore(url)
    return store


@pytest.fixture(params=["sqlite", "redis"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Each contract test runs on both stores."""
    if request.param == "sqlite":
        store: Store = SQLiteStore(tmp_path / "contract.sqlite3")
    else:
        store = _redis_store(request.getfixturevalue("redis_server"))
    yield store
    store.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SQLiteStore]:
    store = SQLiteStore(tmp_path / "test.sqlite3")
    yield store
    store.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for tests: replay source on an empty file, short grace period."""
    replay = tmp_path / "replay.jsonl"
    replay.touch()
    return Settings(source="replay", replay_file=str(replay), replay_rate=0, watch_grace_seconds=60)
