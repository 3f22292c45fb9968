"""Reconnect policy and line framing, shared by every source."""

from __future__ import annotations

import socket

import httpx
import pytest

from helpers import free_port
from twitterstream.sources.errors import Disconnected
from twitterstream.sources.framing import LineSplitter
from twitterstream.sources.network import network_reason
from twitterstream.sources.reconnect import Backoff, ReconnectPolicy


def test_network_errors_back_off_linearly_to_16_seconds() -> None:
    policy = ReconnectPolicy()
    delays = [policy.delay(Backoff.NETWORK) for _ in range(70)]
    assert delays[:4] == [0.0, 0.25, 0.5, 0.75]  # the first reconnect after a drop is immediate
    assert max(delays) == 16.0
    assert delays[-1] == 16.0


def test_http_errors_back_off_exponentially_from_5_to_320_seconds() -> None:
    policy = ReconnectPolicy()
    assert [policy.delay(Backoff.HTTP) for _ in range(8)] == [5, 10, 20, 40, 80, 160, 320, 320]


def test_rate_limits_back_off_from_60_seconds_and_honour_the_reset() -> None:
    policy = ReconnectPolicy()
    assert policy.delay(Backoff.RATE_LIMIT) == 60
    assert policy.delay(Backoff.RATE_LIMIT) == 120
    assert policy.delay(Backoff.RATE_LIMIT, retry_at=1000.0 + 900, now=1000.0) == 900  # the reset is later
    assert policy.delay(Backoff.RATE_LIMIT, retry_at=1000.0 + 5, now=1000.0) == 480  # the backoff is later


def test_delivered_data_resets_every_class() -> None:
    policy = ReconnectPolicy()
    policy.delay(Backoff.HTTP)
    policy.delay(Backoff.RATE_LIMIT)
    policy.delivered()
    assert policy.delay(Backoff.HTTP) == 5
    assert policy.delay(Backoff.RATE_LIMIT) == 60
    assert policy.delay(Backoff.NETWORK) == 0


def test_jitter_only_lengthens_a_delay() -> None:
    policy = ReconnectPolicy(jitter=0.5)
    for _ in range(10):
        policy.delivered()
        assert 5 <= policy.delay(Backoff.HTTP) <= 7.5


MESSAGES = [
    '{"data":{"id":"1","text":"café ☕ 🇫🇷"}}',
    "",  # a keep-alive
    '{"data":{"id":"2","text":"日本語のテキスト"}}',
]
WIRE = "".join(m + "\r\n" for m in MESSAGES).encode()


@pytest.mark.parametrize("cut", range(1, len(WIRE)))
def test_lines_survive_a_cut_anywhere_even_inside_a_character_or_crlf(cut: int) -> None:
    splitter = LineSplitter()
    lines = splitter.feed(WIRE[:cut]) + splitter.feed(WIRE[cut:])
    assert [line.decode() for line in lines] == MESSAGES
    assert splitter.feed(b"\n") == [b""]  # nothing of a line was left behind


def test_lines_survive_one_byte_chunks() -> None:
    splitter = LineSplitter()
    lines = [line for i in range(len(WIRE)) for line in splitter.feed(WIRE[i : i + 1])]
    assert [line.decode() for line in lines] == MESSAGES


def test_an_unfinished_line_stays_pending() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b'{"data":{"id":"1"') == []
    assert splitter.feed(b"}}\r\n") == [b'{"data":{"id":"1"}}']


def test_a_runaway_line_is_an_error_not_a_memory_leak() -> None:
    splitter = LineSplitter(max_line=100)
    with pytest.raises(Disconnected):
        splitter.feed(b"x" * 101)


def test_network_failures_are_said_in_words_without_the_url() -> None:
    with pytest.raises(httpx.ConnectError) as refused:
        httpx.get(f"http://127.0.0.1:{free_port()}/2/tweets/search/stream?secret=1")
    assert network_reason(refused.value) == "network error: the connection was refused"
    unresolved = httpx.ConnectError("[Errno -2] Name or service not known")
    unresolved.__cause__ = socket.gaierror(-2, "Name or service not known")
    assert network_reason(unresolved) == "network error: the host name does not resolve (is this machine online?)"
    assert network_reason(httpx.ReadTimeout("timed out")) == "network error: the connection timed out"
    assert network_reason(httpx.RemoteProtocolError("peer closed")) == "network error: the connection was dropped"
    assert network_reason(OSError("odd")) == "network error: OSError"
