"""One access log line per request, through the real logging setup: fields of their own in JSON."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from harness import Harness, running_app
from twitterstream.config import Settings
from twitterstream.logs import configure_logging


@pytest.fixture
def site(settings: Settings, tmp_path: Path) -> Iterator[Harness]:
    with running_app(settings, tmp_path, start_ingester=False) as harness:
        yield harness


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def access_lines(output: str) -> list[dict]:
    entries = [orjson.loads(line) for line in output.splitlines() if line.startswith("{")]
    return [e for e in entries if e["logger"] == "twitterstream.access"]


def test_every_request_has_one_json_access_line_with_its_fields(
    site: Harness, capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    configure_logging("INFO", "json", ["bearer-secret-123"])
    site.client.get("/api/v1/results?q=cats", headers={"Authorization": "Bearer bearer-secret-123"})
    site.client.get("/no/such/page")
    site.client.post("/", data={"query": "cats or dogs"})
    out = capsys.readouterr().out
    lines = access_lines(out)
    assert [(e["method"], e["path"], e["status"]) for e in lines] == [
        ("GET", "/api/v1/results?q=cats", 200),
        ("GET", "/no/such/page", 404),
        ("POST", "/", 400),
    ]
    for entry in lines:
        assert entry["level"] == "INFO"
        assert isinstance(entry["duration_ms"], float) and entry["duration_ms"] >= 0
        assert entry["client"] == "127.0.0.1"
        assert entry["message"].startswith(f"{entry['method']} {entry['path']} {entry['status']} ")
    assert "bearer-secret-123" not in out and "Authorization" not in out


def test_the_text_access_line_reads_as_one_sentence(
    site: Harness, capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    configure_logging("INFO", "text", [])
    site.client.get("/healthz")
    line = next(line for line in capsys.readouterr().out.splitlines() if "twitterstream.access" in line)
    assert " INFO    twitterstream.access: GET /healthz 200 " in line
    assert line.endswith(" ms 127.0.0.1")


def test_the_logs_say_watching_1_query_not_1_queries() -> None:
    from twitterstream.ingest.watch import _queries

    assert (_queries(1), _queries(2)) == ("query", "queries")
