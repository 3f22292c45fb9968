"""The command line: ``check`` reads any query and checks it against the configured source; a busy port is
one line and exit 1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from twitterstream.cli import main


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("TWITTERSTREAM_SOURCE", "X_BEARER_TOKEN", "TWITTER_BEARER_TOKEN", "PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env file


@pytest.mark.parametrize(
    ("argv", "key"),
    [
        (["check", "-cats dogs"], "-cats dogs"),
        (["check", "-cats", "dogs"], "-cats dogs"),
        (["check", "--", "-cats dogs"], "-cats dogs"),
        (["check", "--source", "x", "-cats dogs"], "-cats dogs"),
        (["check", "--source=bluesky", "#NYC  pizza"], "#nyc pizza"),
    ],
)
def test_check_takes_a_query_that_starts_with_a_minus(
    argv: list[str], key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 0
    out = capsys.readouterr().out.strip()
    assert parse_key(out) == parse_key(key)


def parse_key(text: str) -> str:
    from twitterstream.query import parse

    return parse(text).key


def test_check_of_an_exclusion_alone_is_the_query_error_not_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "-cats"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: Rules must contain a non-negation term")
    assert "usage:" not in err


def test_check_uses_the_configured_source(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TWITTERSTREAM_SOURCE", "bluesky")
    assert main(["check", "place:nyc pizza"]) == 2
    assert "place cannot be evaluated on bluesky posts" in capsys.readouterr().err
    assert main(["check", "--source", "x", "place:nyc pizza"]) == 0
    assert capsys.readouterr().out.strip() == parse_key("place:nyc pizza")
    monkeypatch.setenv("TWITTERSTREAM_SOURCE", "mastodon")
    assert main(["check", "pizza is:quote"]) == 2
    assert main(["check", "--source", "replay", "pizza is:quote"]) == 0


def test_check_of_a_network_filter_against_the_configured_sources(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TWITTERSTREAM_SOURCE", "x,bluesky")
    assert main(["check", "#NYC (source:X OR source:bluesky)"]) == 0
    assert capsys.readouterr().out.strip() == "#nyc (source:x OR source:bluesky)"
    assert main(["check", "#nyc source:mastodon"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: source: leaves out every network running here (X and Bluesky) (at position 6)")
    assert main(["check", "--source", "mastodon", "#nyc source:mastodon"]) == 0


def test_check_names_a_setting_it_cannot_use(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TWITTERSTREAM_SOURCE", "myspace")
    assert main(["check", "cats"]) == 2
    assert "TWITTERSTREAM_SOURCE='myspace'" in capsys.readouterr().err


def test_check_refuses_an_unknown_source_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["check", "--source", "myspace", "cats"])
    assert exited.value.code == 2
    assert "invalid choice: 'myspace'" in capsys.readouterr().err


@pytest.fixture
def busy_port() -> Iterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    yield sock.getsockname()[1]
    sock.close()


@pytest.mark.parametrize(
    ("args", "env", "advice"),
    [
        (["serve"], {"PORT": "{port}"}, "PORT={next}"),
        (["serve", "--port", "{port}"], {}, "--port {next}"),
        (["ingest", "--port", "{port}"], {}, "--port {next}"),
        (["web", "--port", "{port}"], {}, "--port {next}"),
    ],
)
def test_a_busy_port_is_one_line_and_exit_1(
    busy_port: int, tmp_path: Path, args: list[str], env: dict[str, str], advice: str
) -> None:
    values = {"port": busy_port, "next": busy_port + 1}
    environment = {
        **os.environ,
        "TWITTERSTREAM_SOURCE": "replay",
        "TWITTERSTREAM_INSTANCE_PATH": str(tmp_path),
        **{k: v.format(**values) for k, v in env.items()},
    }
    done = subprocess.run(
        [sys.executable, "-m", "twitterstream", *(a.format(**values) for a in args)],
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    expected = (
        f"twitterstream: port {busy_port} is in use (is another TwitterStream running? try {advice.format(**values)})\n"
    )
    assert done.stderr == expected
    assert "Traceback" not in done.stdout
