"""Fixtures: stores (SQLite always, Redis when a redis-server binary exists), settings, the app, and the fake
services (each a real server on 127.0.0.1, stopped at the end of the test)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from fakes.bluesky_profiles import FakeProfiles
from fakes.jetstream import FakeJetstream
from fakes.mastodon import FakeMastodon
from fakes.x_api import FakeX
from harness import MASTODON_TOKEN, X_TOKEN
from helpers import RedisProcess
from twitterstream.config import Settings
from twitterstream.store import Store
from twitterstream.store.sqlite import SQLiteStore


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """The URL of a private redis-server for the whole run (not the machine's shared one), stopped at the end."""
    server = RedisProcess()
    yield server.url
    server.stop()


@pytest.fixture
def redis_process() -> Iterator[RedisProcess]:
    """A redis-server of the test's own, which it may stop, freeze and start again."""
    server = RedisProcess()
    yield server
    server.stop()


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


@pytest.fixture
def fake_x() -> Iterator[FakeX]:
    """The fake X API v2: bearer token ``X_TOKEN``, a keep-alive every 0.5 s."""
    with FakeX(bearer_token=X_TOKEN, keepalive_interval=0.5) as fake:
        yield fake


@pytest.fixture
def fake_jetstream() -> Iterator[FakeJetstream]:
    """A fake Jetstream host."""
    with FakeJetstream() as fake:
        yield fake


@pytest.fixture
def fake_mastodon() -> Iterator[FakeMastodon]:
    """A fake Mastodon instance: access token ``MASTODON_TOKEN``, a heartbeat every 0.2 s."""
    with FakeMastodon(access_token=MASTODON_TOKEN, heartbeat_interval=0.2) as fake:
        yield fake


@pytest.fixture
def fake_profiles() -> Iterator[FakeProfiles]:
    """Bluesky's profile API, knowing nobody until the test adds profiles (``fake_profiles.profiles[did]``)."""
    with FakeProfiles() as fake:
        yield fake
