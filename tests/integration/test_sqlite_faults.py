"""A damaged or read-only SQLite store: pages say so (503), /readyz says so, the ingester waits it out and
loses nothing it accepted; at start, unusable storage is one line and exit 2."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from harness import eventually, running_app
from helpers import make_post
from store.faults import damage_page_of, integrity, make_read_only, repair_by_dropping
from twitterstream.config import Settings
from twitterstream.store import default_sqlite_file
from twitterstream.store.sqlite import SQLiteStore
from twitterstream.store.state import INGESTER_STATE, IngesterState

STORE_MESSAGE = "The store does not answer right now"


def line(post_id: int, text: str) -> bytes:
    return orjson.dumps({"data": {"id": str(post_id), "text": text}}) + b"\n"


def append(settings: Settings, *lines: bytes) -> None:
    with Path(settings.replay_file).open("ab") as capture:
        capture.write(b"".join(lines))


def test_a_damaged_store_answers_pages_api_and_streams_with_503_and_readyz_says_unavailable(
    settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "store.sqlite3"
    store = SQLiteStore(path)
    store.save_matches([(make_post(n, "cats"), ["cats"]) for n in (1, 2, 3)])
    store.close()
    damage_page_of(path, "matches_newest")
    with running_app(settings, tmp_path, store=SQLiteStore(path), start_ingester=False) as app:
        page = app.client.get("/results/cats")
        assert page.status_code == 503
        assert STORE_MESSAGE in page.get_data(as_text=True)
        assert "Traceback" not in page.get_data(as_text=True)
        api = app.client.get("/api/v1/results", query_string={"q": "cats"})
        assert api.status_code == 503
        assert STORE_MESSAGE in api.get_json()["error"]["message"]
        stream = app.client.get("/api/v1/stream", query_string={"q": "cats"})
        assert stream.status_code == 503
        assert app.app.extensions["hub"].open_streams() == 0
        ready = app.client.get("/readyz")
        assert ready.status_code == 503
        body = ready.get_json()
        assert body["ready"] is False and body["source"] is None
        assert body["store"] == "unavailable: the SQLite database file is damaged"
        assert str(tmp_path) not in ready.get_data(as_text=True)


def test_the_ingester_survives_a_read_only_store_keeps_what_it_received_and_resumes(
    settings: Settings, tmp_path: Path
) -> None:
    with running_app(settings, tmp_path) as app:
        assert app.ingester is not None
        store = app.store
        assert isinstance(store, SQLiteStore)
        app.client.get("/results/cats")
        append(settings, line(1, "cats one"))
        eventually(lambda: [p["id"] for p in app.results("cats")] == ["1"])

        make_read_only(store)
        append(settings, line(2, "cats two"))
        eventually(lambda: app.ingester is not None and app.ingester.counters.posts_received >= 2)
        ready = eventually(lambda: (r := app.client.get("/readyz")).status_code == 503 and r, message="not ready")
        assert "read-only" in ready.get_json()["store"]
        api = app.client.get("/api/v1/results", query_string={"q": "cats"})  # it renews the watch: a write
        assert api.status_code == 503 and STORE_MESSAGE in api.get_json()["error"]["message"]
        beat = app.ingester.heartbeat
        eventually(lambda: app.ingester is not None and app.ingester.heartbeat > beat, message="heartbeat goes on")
        assert app.ingester.alive

        make_read_only(store, False)
        eventually(lambda: app.client.get("/readyz").status_code == 200, message="ready again")
        eventually(lambda: [p["id"] for p in app.results("cats")] == ["2", "1"], message="post 2 stored")
        assert app.client.get("/readyz").get_json()["ingester"]["state"] == "running"

        app.ingester.stop()
        ready = app.client.get("/readyz")
        assert ready.status_code == 503
        assert ready.get_json()["ingester"]["state"] == "stopped"
        beat = app.ingester.heartbeat
        assert app.ingester.snapshot().heartbeat == beat  # a stopped ingester's heartbeat stands still


def test_readyz_says_not_ready_when_the_published_heartbeat_is_stale(settings: Settings, tmp_path: Path) -> None:
    with running_app(settings, tmp_path, start_ingester=False) as app:
        assert app.client.get("/readyz").get_json()["ingester"] == {"state": "absent", "heartbeat_age": None}
        status = {"source": "replay", "state": "connected", "reason": "", "retry_at": None, "since": time.time()}
        state = IngesterState("elsewhere:1", status, {}, heartbeat=time.time())
        app.store.set_state(INGESTER_STATE, state.to_json())
        ready = app.client.get("/readyz")
        assert ready.status_code == 200
        assert ready.get_json()["ingester"]["state"] == "running"
        state.heartbeat = time.time() - 120  # an ingester that died without a word
        app.store.set_state(INGESTER_STATE, state.to_json())
        ready = app.client.get("/readyz")
        assert ready.status_code == 503
        assert ready.get_json()["ingester"]["state"] == "silent"
        assert ready.get_json()["ingester"]["heartbeat_age"] >= 120
        assert ready.get_json()["store"] == "ok"


def test_nothing_accepted_is_lost_across_a_damaged_then_repaired_store(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / default_sqlite_file(settings.source)  # the default store in the instance folder
    with running_app(settings, tmp_path) as app:
        app.client.get("/results/cats")
        append(settings, line(1, "cats one"), line(2, "cats two"), line(3, "cats three"))
        eventually(lambda: [p["id"] for p in app.results("cats")] == ["3", "2", "1"])

    damage_page_of(path, "matches_newest")
    with running_app(settings, tmp_path) as app:  # restarted on the damaged store: it waits, it does not die
        assert app.ingester is not None
        append(settings, line(4, "cats four"))
        eventually(lambda: app.ingester is not None and app.ingester.counters.posts_received >= 4)
        assert app.client.get("/api/v1/results", query_string={"q": "cats"}).status_code == 503
        assert app.client.get("/readyz").status_code == 503
        assert app.ingester.alive
    assert integrity(path) != "ok"

    repair_by_dropping(path, "matches_newest")
    assert integrity(path) == "ok"
    store = SQLiteStore(path)
    try:
        assert {p.id for p in store.latest("cats")} >= {"1", "2", "3"}  # accepted before the damage: still there
    finally:
        store.close()
    with running_app(settings, tmp_path) as app:
        app.client.get("/results/cats")
        eventually(lambda: [p["id"] for p in app.results("cats")] == ["4", "3", "2", "1"], message="post 4 stored")
        assert app.client.get("/readyz").status_code == 200
    assert integrity(path) == "ok"


@pytest.mark.parametrize("damage", ["not a database", "a file in the way of the instance folder"])
def test_start_up_on_unusable_storage_is_one_line_and_exit_2(damage: str, tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    if damage == "not a database":
        instance.mkdir()
        (instance / default_sqlite_file("replay")).write_bytes(b"garbage " * 1000)
        expected = "damaged"
    else:
        instance.write_text("a file")
        expected = "folder cannot be created"
    replay = tmp_path / "replay.jsonl"
    replay.touch()
    env = {"TWITTERSTREAM_INSTANCE_PATH": str(instance), "TWITTERSTREAM_SOURCE": "replay", "REPLAY_FILE": str(replay)}
    for command in ("serve", "ingest"):
        done = subprocess.run(
            [sys.executable, "-m", "twitterstream", command, "--port", "0"],
            env={**_base_env(), **env},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert lines[0].startswith("twitterstream: cannot use the store at ") and expected in lines[0]
        assert "Traceback" not in done.stderr + done.stdout


def _base_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "X_BEARER_TOKEN")}
