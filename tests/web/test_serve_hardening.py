"""Web hardening on the real `twitterstream serve` (gevent), over raw sockets: odd bytes, clients that leave
mid-body, slow clients, the connection cap, and live streams that must outlive the read timeout."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from harness import eventually
from processes import AppProcess
from twitterstream.web.server import GuardedServer

READ_TIMEOUT = 1.0
MAX_CONNECTIONS = 4
#: The server's timers count from its event loop's clock, which is read once per turn of the loop: a deadline
#: may fire a few milliseconds early by ours (0.994 s for 1 s was seen on a loaded machine).
TIMER_SLACK = 0.05


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppProcess]:
    folder = tmp_path_factory.mktemp("serve")
    replay = folder / "replay.jsonl"
    replay.touch()
    env = {
        "TWITTERSTREAM_SOURCE": "replay",
        "REPLAY_FILE": str(replay),
        "REPLAY_RATE": "0",
        "TWITTERSTREAM_READ_TIMEOUT": str(READ_TIMEOUT),
        "TWITTERSTREAM_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
        "TWITTERSTREAM_INSTANCE_PATH": str(folder / "instance"),
    }
    process = AppProcess(["serve", "--port", "0"], env, folder)
    process.replay = replay  # type: ignore[attr-defined]
    yield process
    process.stop()


def connect(app: AppProcess) -> socket.socket:
    host, port = app.url.removeprefix("http://").rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=10)


def exchange(app: AppProcess, request: bytes) -> bytes:
    """Send ``request`` and read until the server closes the connection."""
    with connect(app) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        return answer


def cut_off(sock: socket.socket) -> bool:
    """Whether the server has closed this connection (its end has arrived, nothing else)."""
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True


def log_since(app: AppProcess, mark: int) -> str:
    return "".join(app.lines[mark:])


def test_a_raw_0xff_byte_in_the_query_string_answers_400(serve: AppProcess) -> None:
    mark = len(serve.lines)
    for path in (b"/api/v1/results?q=cats\xff", b"/results/cats?\xff", b"/?q=\xff"):
        answer = exchange(serve, b"GET " + path + b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
        assert b"not UTF-8" in answer
    assert "Traceback" not in log_since(serve, mark)


def test_a_huge_body_gets_413_without_being_read(serve: AppProcess) -> None:
    head = b"POST / HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    answer = exchange(serve, head + b"Content-Length: 50000000\r\n\r\n" + b"query=" + b"x" * 1000)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]  # and the connection closed: 49.9 MB never read


def test_a_client_leaving_mid_body_logs_one_info_line(serve: AppProcess) -> None:
    mark = len(serve.lines)
    with connect(serve) as sock:
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 1000\r\n\r\nquery=abcd"
        )
    line = eventually(lambda: [x for x in serve.lines[mark:] if "client left" in x], message="the INFO line")
    assert len(line) == 1 and " INFO " in line[0]
    assert exchange(serve, b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").startswith(b"HTTP/1.1 200")
    log = log_since(serve, mark)
    assert "Traceback" not in log and "ERROR" not in log


def trickle(sock: socket.socket, data: bytes, interval: float) -> int:
    """Send ``data`` a byte every ``interval`` seconds until the server answers or closes; the bytes sent."""
    for sent, byte in enumerate(data):
        try:
            sock.sendall(bytes([byte]))
        except OSError:  # reset or broken pipe: closed
            return sent
        time.sleep(interval)  # the slowness is what is tested
        try:
            if sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) is not None:
                return sent + 1  # an answer (408) or the end of the connection
        except BlockingIOError:
            continue  # nothing yet: still open
        except OSError:
            return sent + 1
    return len(data)


def closed_by_server(sock: socket.socket) -> bytes:
    """What the server still sends until it closes the connection (b"" for a reset)."""
    sock.settimeout(5)
    try:
        answer = b""
        while chunk := sock.recv(1024):
            answer += chunk
        return answer
    except ConnectionResetError:
        return b""


def test_a_client_sending_its_headers_slowly_is_cut_off_at_the_read_timeout(serve: AppProcess) -> None:
    mark = len(serve.lines)
    request = b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: " + b"a" * 100 + b"\r\n\r\n"
    started = time.monotonic()  # before connecting: the server's deadline cannot start earlier
    with connect(serve) as sock:
        sent = trickle(sock, request, 0.1)  # a byte every 0.1 s keeps any per-read timeout happy
        took = time.monotonic() - started
        closed_by_server(sock)
    assert sent < len(request)  # cut off while the bytes were still coming
    assert took >= READ_TIMEOUT - TIMER_SLACK  # and not before the read timeout
    assert eventually(lambda: "within 1 s" in log_since(serve, mark))
    assert "Traceback" not in log_since(serve, mark)


def test_a_client_sending_its_body_slowly_gets_408_at_the_read_timeout(serve: AppProcess) -> None:
    mark = len(serve.lines)
    body = b"query=" + b"a" * 194
    with connect(serve) as sock:
        started = time.monotonic()  # before the headers: the body's deadline starts once they are read
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 200\r\n\r\n"
        )
        sent = trickle(sock, body, 0.1)
        took = time.monotonic() - started
        answer = closed_by_server(sock)
    assert sent < len(body)  # cut off while the bytes were still coming
    assert took >= READ_TIMEOUT - TIMER_SLACK  # and not before the read timeout
    assert answer.startswith(b"HTTP/1.1 408"), answer[:100]
    assert "Traceback" not in log_since(serve, mark)


def test_a_quiet_live_stream_outlives_the_read_timeout(serve: AppProcess) -> None:
    url = f"{serve.url}/api/v1/stream?q=hardening"
    with httpx.Client(timeout=httpx.Timeout(5.0, read=10.0)) as client, client.stream("GET", url) as response:
        assert response.status_code == 200
        lines = response.iter_lines()
        assert next(line for line in lines if line.startswith("event: status"))
        with connect(serve) as silent:  # opened after the stream: the server cuts it a read timeout later
            assert closed_by_server(silent) == b""  # so the stream has been quiet for longer than that
        with serve.replay.open("a") as replay:  # type: ignore[attr-defined]
            replay.write('{"data":{"id":"777","text":"hardening works"}}\n')
        assert next(line for line in lines if line.startswith("id: ")) == "id: 777"


def test_at_the_connection_cap_new_connections_wait_and_are_served_later(serve: AppProcess) -> None:
    mark = len(serve.lines)
    silent = [connect(serve) for _ in range(MAX_CONNECTIONS)]  # each holds a slot until the read timeout
    try:
        answer = exchange(serve, b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        # served once a silent one was cut off (the server closes it before its slot is free), not at once
        assert any(cut_off(sock) for sock in silent)
    finally:
        for sock in silent:
            sock.close()
    assert answer.startswith(b"HTTP/1.1 200")
    assert f"connection cap of {MAX_CONNECTIONS} reached: new connections wait" in log_since(serve, mark)


def test_every_connection_has_nagles_algorithm_off() -> None:
    """gevent writes a response's headers and body apart: with Nagle on, the body would wait for the client's
    delayed acknowledgement of the headers (40 ms on Linux) on every kept-alive request."""
    seen: list[int] = []

    class Probe:
        def __init__(self, sock: socket.socket, address: object, server: object) -> None:
            seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

        def handle(self) -> None:
            pass

    server = GuardedServer(("127.0.0.1", 0), None, read_timeout=READ_TIMEOUT, max_connections=MAX_CONNECTIONS)
    server.handler_class = Probe  # type: ignore[assignment]
    with socket.create_server(("127.0.0.1", 0)) as listener, socket.create_connection(listener.getsockname()):
        accepted, address = listener.accept()
        with accepted:
            assert not accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)  # the system's default
            server.handle(accepted, address)
    assert len(seen) == 1 and seen[0]
