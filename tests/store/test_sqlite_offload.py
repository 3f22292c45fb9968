"""Under gevent the SQLite store runs the ingester's transactions on a native thread (``offload``), and a
page's small writes on the loop; SQLite's checkpoint (a copy of the WAL into the file and two syncs) runs only
on the native thread, never in a commit on the loop."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from helpers import make_post
from twitterstream.store import sqlite_db
from twitterstream.store.sqlite import SQLiteStore


class OtherThread:
    """An offload that runs each call on a thread of its own, as gevent's pool does, and counts them."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, call: Callable[[], Any]) -> Any:
        box: dict[str, Any] = {}

        def run() -> None:
            try:
                box["value"] = call()
            except BaseException as exc:  # handed back to the caller, as gevent's pool does
                box["error"] = exc

        self.calls += 1
        thread = threading.Thread(target=run)
        thread.start()
        thread.join()
        if "error" in box:
            raise box["error"]
        return box["value"]


@pytest.fixture
def offload() -> OtherThread:
    return OtherThread()


@pytest.fixture
def store(tmp_path: Path, offload: OtherThread) -> Any:
    store = SQLiteStore(tmp_path / "store.sqlite3", offload=offload)
    yield store
    store.close()


def file_size(store: SQLiteStore) -> int:
    return Path(store.path).stat().st_size


def watch_many(store: SQLiteStore, count: int, start: int = 0) -> None:
    """``count`` page writes on the caller's thread (each lease a few WAL pages)."""
    for n in range(start, start + count):
        store.watch(f"query {n}", f"query {n}", "page-views", 0, ttl=60)


def test_page_writes_commit_here_and_the_ingesters_there(store: SQLiteStore, offload: OtherThread) -> None:
    store.watch("cats", "cats", "page-views", 0, ttl=60)
    store.set_state("cursor", {"at": 1})
    assert store.rate_limit_storage().incr("new-queries/1.2.3.4", 60) == 1
    assert offload.calls == 0
    store.save_matches([(make_post(1, "cats"), ["cats"])])
    assert offload.calls == 1
    assert store.watched_since("cats") is not None
    assert store.get_state("cursor") == {"at": 1}
    assert [p.id for p in store.latest("cats")] == ["1"]


def test_the_wal_is_copied_into_the_file_by_the_native_thread_only(store: SQLiteStore, offload: OtherThread) -> None:
    before = file_size(store)
    watch_many(store, 400)  # more than CHECKPOINT_PAGES pages in the WAL
    assert file_size(store) == before  # no commit on this thread checkpointed
    store.save_matches([(make_post(1, "cats"), ["cats"])])
    assert file_size(store) > before  # the ingester's commit did, there
    assert offload.calls == 1
    assert [w.key for w in store.watched()][:1] == ["query 0"]


def test_without_an_ingester_the_native_thread_checkpoints_now_and_then(
    store: SQLiteStore, offload: OtherThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_db, "CHECKPOINT_AFTER_COMMITS", 50)
    before = file_size(store)
    watch_many(store, 49)
    assert (offload.calls, file_size(store)) == (0, before)
    watch_many(store, 1, start=49)
    assert offload.calls == 1
    assert file_size(store) > before
    watch_many(store, 49, start=50)
    assert offload.calls == 1  # counted from the checkpoint
