"""Under gevent the SQLite store commits on a native thread (``offload``): the commit that fills the WAL runs
SQLite's checkpoint (a copy and two syncs), which must not stop the event loop."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from helpers import make_post
from twitterstream.store.sqlite import SQLiteStore


class OtherThread:
    """An offload that runs each call on a thread of its own, as gevent's pool does, and counts them."""

    def __init__(self) -> None:
        self.threads: list[str] = []

    def __call__(self, call: Callable[[], Any]) -> Any:
        box: dict[str, Any] = {}

        def run() -> None:
            self.threads.append(threading.current_thread().name)
            try:
                box["value"] = call()
            except BaseException as exc:  # handed back to the caller, as gevent's pool does
                box["error"] = exc

        thread = threading.Thread(target=run, name=f"native-{len(self.threads)}")
        thread.start()
        thread.join()
        if "error" in box:
            raise box["error"]
        return box["value"]


def test_every_kind_of_write_commits_off_the_callers_thread(tmp_path: Path) -> None:
    offload = OtherThread()
    store = SQLiteStore(tmp_path / "store.sqlite3", offload=offload)
    try:
        opened = len(offload.threads)  # the schema check at opening
        store.watch("cats", "cats", "page-views", 0, ttl=60)  # a page's write: statements here, commit there
        store.set_state("cursor", {"at": 1})
        assert store.rate_limit_storage().incr("new-queries/1.2.3.4", 60) == 1
        store.save_matches([(make_post(1, "cats"), ["cats"])])  # the ingester's: all of it there
        assert len(offload.threads) - opened == 4
        assert threading.current_thread().name not in offload.threads
        assert store.watched_since("cats") is not None
        assert store.get_state("cursor") == {"at": 1}
        assert [p.id for p in store.latest("cats")] == ["1"]
    finally:
        store.close()
