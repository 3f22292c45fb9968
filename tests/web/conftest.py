"""A site on each store (SQLite, Redis), no ingester: the web answers from what the test stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import Harness, running_app
from twitterstream.config import Settings
from twitterstream.store import Store


@pytest.fixture
def store_site(settings: Settings, tmp_path: Path, any_store: Store) -> Iterator[Harness]:
    """The app on SQLite and on Redis (each test runs twice)."""
    with running_app(settings, tmp_path, start_ingester=False, store=any_store) as harness:
        yield harness
