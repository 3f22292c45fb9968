"""A frozen Redis (SIGSTOP; a network partition looks the same): pages and /readyz answer 503 at once
instead of hanging, and everything recovers by itself when Redis answers again (SIGCONT)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

import pytest

from harness import Harness, eventually, running_app
from helpers import RedisProcess, replay_line
from twitterstream.config import Settings
from twitterstream.store.redis import RedisStore

pytestmark = pytest.mark.redis

#: Generous on purpose: a deadline for the answers to arrive, not a speed benchmark (a store call gives up
#: after 1.5 s; before those timeouts a frozen Redis held a page for about 40 s, and could hang it for good).
ANSWER_WITHIN = 10.0


def answers(harness: Harness, paths: tuple[str, ...]) -> dict[str, tuple[int, str]]:
    """GET every path at once, each on its own thread and client; (status, body) by path once all answered."""
    pool = ThreadPoolExecutor(len(paths))

    def get(path: str) -> tuple[int, str]:
        response = harness.app.test_client().get(path)
        return response.status_code, response.get_data(as_text=True)

    futures = {path: pool.submit(get, path) for path in paths}
    _, waiting = wait(futures.values(), timeout=ANSWER_WITHIN)
    pool.shutdown(wait=False)  # a page still held by the frozen Redis is let go when it thaws
    assert not waiting, f"no answer within {ANSWER_WITHIN:g} s: {[p for p, f in futures.items() if f in waiting]}"
    return {path: future.result() for path, future in futures.items()}


def test_a_frozen_redis_answers_503_quickly_and_recovers_by_itself(
    redis_process: RedisProcess, settings: Settings, tmp_path: Path
) -> None:
    settings = settings.with_overrides(database_url=redis_process.url)
    store = RedisStore(redis_process.url)
    with running_app(settings, tmp_path, store=store) as app:
        app.client.get("/results/cats")
        with Path(settings.replay_file).open("ab") as capture:
            capture.write(replay_line(1, "cats one"))
        eventually(lambda: [p["id"] for p in app.results("cats")] == ["1"])

        redis_process.freeze()
        paths = ("/readyz", "/results/cats", "/api/v1/results?q=cats", "/api/v1/stream?q=cats")
        for path, (status, body) in answers(app, paths).items():
            assert status == 503, (path, body)
            assert f"127.0.0.1:{redis_process.port}" not in body  # the failure in words, no host
        assert "Redis does not answer" in app.client.get("/readyz").get_json()["store"]
        assert app.ingester is not None and app.ingester.alive

        redis_process.thaw()
        eventually(lambda: app.client.get("/readyz").status_code == 200, timeout=15, message="ready again")
        with Path(settings.replay_file).open("ab") as capture:
            capture.write(replay_line(2, "cats two"))
        eventually(lambda: [p["id"] for p in app.results("cats")] == ["2", "1"], timeout=15, message="post 2")
        assert app.ingester.alive
