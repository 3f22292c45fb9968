"""Benchmark: live delivery to 1,000 open streams, memory per idle stream, and page views meanwhile.

    .venv/bin/python bench/bench_live.py             # about a minute (more if the machine is busy: see below)
    .venv/bin/python bench/bench_live.py --quick     # 200 streams, 40 posts: a few seconds
    .venv/bin/python bench/bench_live.py --production  # the production shape (below), redis-server on PATH

What runs (all on this machine, over loopback):

* the server: a real ``twitterstream serve --port 0`` subprocess (gevent, web and ingester in one process,
  SQLite in a temporary instance folder) with ``TWITTERSTREAM_SOURCE=replay``, ``REPLAY_RATE=0`` and
  ``REPLAY_FILE`` a FIFO this script writes X API v2 stream lines into. The replay source reads a FIFO as
  soon as a line is written, so "written into the FIFO" is "the ingester received it";
* or, with ``--production``, the production shape: a private ``redis-server`` (no persistence, in the
  temporary folder), one ``twitterstream ingest`` (the same replay source and FIFO) and one
  ``twitterstream web --workers N`` (gunicorn's master and ``--workers`` gevent ``LiveStreamWorker``
  processes, 2 by default), both on that Redis. Memory and CPU are the gunicorn workers' (the master's
  children, found in /proc, summed); the ingester's and Redis's CPU while delivering are reported too.
  Latency then includes the hop through Redis;
* the viewers: ``--client-procs`` asyncio processes holding ``--clients`` streams in all on
  ``GET /api/v1/stream?q=...`` (HTTP/1.1, chunked, as a browser's EventSource gets it), parsing the chunked
  framing and the SSE events. Each read takes the kernel's receive timestamp of the socket (``SO_TIMESTAMPNS``)
  and the time the process got to it: the first is when the server's bytes reached the viewer, whatever the
  viewer process was doing; the second adds the viewers' own delay (they share the cores with the server);
* the posts: ``--posts`` lines at ``--rate`` per second; post ``n`` says ``<word> seq n sent T`` with
  ``<word>`` the query ``n mod queries`` and ``T`` the wall-clock time just before the line is written. A
  delivery's latency is its arrival time minus ``T``. Every viewer must get every post of its query exactly
  once, with the right ``id:``.

Two scenarios, each on a fresh server: every viewer on one query, and viewers spread evenly over 50 queries.
In each: ``/healthz`` and ``/results/<q>`` timed with no stream open (a new connection per request, as a load
balancer's health check does); 20 warm-up streams opened (they stay open: the server notices a closed stream
only when a keep-alive write fails) and 5 posts; server RSS (``VmRSS``); all streams opened, and the ingester
watching their queries; RSS again (the difference over the streams is the memory per idle stream); the same
requests timed with the streams idle; then the posts, with the requests timed meanwhile (every 0.1 s).
Before posting it waits (up to ``--quiet-wait`` seconds) for the machine to be otherwise idle, and reports
the CPU that other processes used meanwhile. The server's log is scanned for warnings and errors.

Exit status: 1 when a delivery is lost, duplicated or wrong, a stream is dropped or the server fails; a
missed latency or memory target is reported, and fails only with ``--strict``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import http.client
import multiprocessing
import os
import platform
import re
import resource
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson

from fakes.waiting import eventually

ROOT = Path(__file__).resolve().parents[1]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
TARGET_P99_MS = 100.0
TARGET_KB_PER_STREAM = 30.0
POST_RE = re.compile(rb"seq (\d+) sent (\d+\.\d+)")
ID_BASE = 1_900_000_000_000_000_000
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux; Python does not export it
CMSG_SIZE = socket.CMSG_SPACE(16)  # one struct timespec
WARM_STREAMS = 20


# -- the server ------------------------------------------------------------------------------------
LISTENING_RE = r"listening on http://[^:/]+:(\d+)/"  # twitterstream serve and ingest
GUNICORN_RE = r"Listening at: http://[^:/]+:(\d+)"  # twitterstream web (gunicorn's master)


@dataclass
class Role:
    """One process of the deployment, its output going to a log file."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    log: Any  # the open log file

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def check_running(self) -> None:
        """Raise RuntimeError (with the log) when the process has exited."""
        if self.process.poll() is not None:
            raise RuntimeError(f"the {self.name} exited ({self.process.returncode}):\n{self.log_text()}")


class Server:
    """``twitterstream serve`` on port 0, fed through a FIFO."""

    description = "one `twitterstream serve` process (gevent, SQLite, replay source fed through a FIFO)"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.fifo = folder / "replay.fifo"
        os.mkfifo(self.fifo)
        self.roles: list[Role] = []
        self.host = "127.0.0.1"
        try:
            self.start()
            self.fd = self._open_fifo()
        except BaseException:
            self.stop()
            raise

    def start(self) -> None:
        """Start the processes; set ``port`` (the web port) and ``pid`` (the process that serves the streams)."""
        role = self.spawn(
            "server", [sys.executable, "-m", "twitterstream", "serve", "--host", self.host, "--port", "0"], self.env()
        )
        self.pid = role.process.pid
        self.pids = [self.pid]
        self.port = int(self.wait_for_log(role, LISTENING_RE).group(1))

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "X_", "TWITTER_"))}
        env.update(
            TWITTERSTREAM_SOURCE="replay",
            REPLAY_FILE=str(self.fifo),
            REPLAY_RATE="0",
            TWITTERSTREAM_INSTANCE_PATH=str(self.folder / "instance"),
            SECRET_KEY="bench-live",
            LOG_LEVEL="INFO",
            # every viewer of a bench is 127.0.0.1: the per-client limits would refuse its 51st stream and its
            # 31st new query of a minute
            TWITTERSTREAM_STREAMS_PER_CLIENT="1000000",
            TWITTERSTREAM_NEW_QUERIES_PER_MINUTE="1000000",
            PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")])),
        )
        env.update(extra)
        return env

    def spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Role:
        log_path = self.folder / f"{name}.log"
        log = open(log_path, "wb")  # noqa: SIM115 (closed in stop)
        try:
            process = subprocess.Popen(
                argv,
                cwd=self.folder,  # no stray .env from the working folder
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        except BaseException:
            log.close()
            raise
        role = Role(name, process, log_path, log)
        self.roles.append(role)
        return role

    def wait_for_log(self, role: Role, pattern: str, timeout: float = 30.0) -> re.Match[str]:
        """The first match of ``pattern`` in the role's log, once it appears."""

        def found() -> re.Match[str] | None:
            role.check_running()
            return re.search(pattern, role.log_text())

        return eventually(found, timeout, f"the {role.name} to log {pattern!r}", every=0.05, detail=role.log_text)

    def _open_fifo(self, timeout: float = 10.0) -> int:
        def opened() -> int | None:
            try:
                return os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as exc:  # ENXIO: the replay source has not opened it for reading yet
                if exc.errno != errno.ENXIO:
                    raise
                return None

        fd = eventually(opened, timeout, "the replay source to open the FIFO", every=0.02)
        os.set_blocking(fd, True)
        return fd

    def send(self, seq: int, word: str) -> None:
        """One post line into the FIFO; its text carries its sequence number and the time it was written."""
        now = time.time()
        line = orjson.dumps(
            {
                "data": {
                    "id": str(ID_BASE + seq),
                    "text": f"{word} seq {seq} sent {now:.6f}",
                    "author_id": "42",
                    "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                    "lang": "en",
                },
                "includes": {"users": [{"id": "42", "username": "bench", "name": "Bench"}]},
            }
        )
        os.write(self.fd, line + b"\n")  # < PIPE_BUF: one atomic write

    def rss_kb(self) -> int:
        return sum(map(rss_kb, self.pids))

    def cpu_seconds(self) -> float:
        return sum(map(cpu_seconds, self.pids))

    def open_streams(self) -> float | None:
        """The streams the server counts as open (None: it cannot tell as a whole)."""
        return self.metric("twitterstream_live_streams")

    def other_cpu_seconds(self) -> dict[str, float]:
        """CPU time of the deployment's other processes, by role (none here: one process does everything)."""
        return {}

    def get(self, path: str, timeout: float = 10.0, port: int | None = None) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection(self.host, port or self.port, timeout=timeout)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def metric_port(self, name: str) -> int:
        """Where ``/metrics`` has the live figure ``name``."""
        return self.port

    def metric(self, name: str) -> float:
        status, body = self.get("/metrics", port=self.metric_port(name))
        found = re.search(rf"^{name} ([0-9.e+]+)$", body.decode(), re.M)
        if status != 200 or not found:
            raise RuntimeError(f"/metrics has no {name} (status {status})")
        return float(found.group(1))

    def log_text(self) -> str:
        if len(self.roles) == 1:
            return self.roles[0].log_text()
        return "".join(f"[{role.name}] {line}\n" for role in self.roles for line in role.log_text().splitlines())

    def stop(self) -> int | None:
        """Stop the processes (the last started first); the first failing exit status, else 0."""
        with contextlib.suppress(OSError, AttributeError):
            os.close(self.fd)
        status: int | None = None
        for role in reversed(self.roles):
            if role.process.poll() is None:
                role.process.send_signal(signal.SIGTERM)
                try:
                    role.process.wait(15)
                except subprocess.TimeoutExpired:
                    role.process.kill()
                    role.process.wait(5)
            role.log.close()
            if status in (None, 0):
                status = role.process.returncode
        return status


class ProductionServer(Server):
    """The production shape: ``redis-server``, one ``twitterstream ingest`` (the replay source fed through
    the FIFO) and one ``twitterstream web --workers N`` (gunicorn, N gevent ``LiveStreamWorker`` processes).

    ``pids`` are the gunicorn workers (the master's children): they hold the streams, so memory and CPU are
    measured on them (summed); the ingester's and Redis's CPU are reported apart.
    """

    description = (
        "gunicorn gevent workers + ingester + Redis: one `twitterstream web --workers {workers}` (gunicorn, "
        '{workers} gevent `LiveStreamWorker` processes; the "server" rows are these workers, summed), one '
        "`twitterstream ingest` (replay source fed through a FIFO) and one `redis-server`{version}, all sharing "
        "the Redis store"
    )

    def __init__(self, folder: Path, workers: int) -> None:
        self.workers = workers
        super().__init__(folder)

    def open_streams(self) -> float | None:
        # each worker counts its own streams, and /metrics answers from whichever worker accepts
        return self.metric("twitterstream_live_streams") if self.workers == 1 else None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("--production needs redis-server on PATH")
        redis_port = free_port()
        options = ["--port", str(redis_port), "--bind", self.host, "--save", "", "--appendonly", "no"]
        redis = self.spawn("redis", [binary, *options, "--dir", str(self.folder)])
        self.redis_pid = redis.process.pid
        self._wait_for_redis(redis, redis_port)
        version = re.search(r"version=([\d.]+)", redis.log_text())
        self.description = self.description.format(
            workers=self.workers, version=f" {version.group(1)}" if version else ""
        )
        env = self.env(DATABASE_URL=f"redis://{self.host}:{redis_port}/0", PYTHONUNBUFFERED="1")
        env.pop("GUNICORN_CMD_ARGS", None)  # the bench's settings only
        command = [sys.executable, "-m", "twitterstream"]
        ingester = self.spawn("ingester", [*command, "ingest", "--host", self.host, "--port", str(free_port())], env)
        self.ingester_pid = ingester.process.pid
        self.ingest_port = int(self.wait_for_log(ingester, LISTENING_RE).group(1))
        self.wait_for_log(ingester, r"ingester \S+ is active")  # it holds the lock: the source opens the FIFO
        web = self.spawn(
            "web",
            [*command, "web", "--host", self.host, "--port", str(free_port()), "--workers", str(self.workers)],
            env,
        )
        self.port = int(self.wait_for_log(web, GUNICORN_RE).group(1))
        self.pids = self._worker_pids(web)
        self.pid = self.pids[0]  # the one --py-spy profiles
        eventually(lambda: self._answers("/healthz"), 30, "the gunicorn worker to answer", every=0.05)

    def _wait_for_redis(self, role: Role, port: int, timeout: float = 10.0) -> None:
        def pong() -> bool:
            role.check_running()
            try:
                with socket.create_connection((self.host, port), timeout=1) as connection:
                    connection.sendall(b"PING\r\n")
                    return connection.recv(16).startswith(b"+PONG")
            except OSError:
                return False

        eventually(pong, timeout, "redis-server to answer PING", every=0.02, detail=role.log_text)

    def _worker_pids(self, master: Role, timeout: float = 30.0) -> list[int]:
        """The gunicorn workers: the master's child processes (from /proc)."""

        def workers() -> list[int] | None:
            master.check_running()
            found = child_pids(master.process.pid)
            return found if len(found) == self.workers else None

        return eventually(workers, timeout, f"gunicorn's {self.workers} workers", every=0.05, detail=master.log_text)

    def _answers(self, path: str) -> bool:
        try:
            return self.get(path, timeout=2)[0] == 200
        except OSError:
            return False

    def metric_port(self, name: str) -> int:
        # the web's /metrics has the ingester's figures as last published to the store (every second or
        # so); the ingester's own /metrics has them live. Open streams are the web worker's.
        return self.port if name == "twitterstream_live_streams" else self.ingest_port

    def other_cpu_seconds(self) -> dict[str, float]:
        return {"ingester": cpu_seconds(self.ingester_pid), "Redis": cpu_seconds(self.redis_pid)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def child_pids(pid: int) -> list[int]:
    """The child processes of ``pid``: from /proc/<pid>/task/*/children, else from every process's parent."""
    children: list[int] = []
    tasks = list(Path(f"/proc/{pid}/task").glob("*/children"))
    if tasks:
        for task in tasks:
            with contextlib.suppress(OSError):
                children += [int(c) for c in task.read_text().split()]
        return sorted(children)
    for stat in Path("/proc").glob("[0-9]*/stat"):  # kernels without CONFIG_PROC_CHILDREN
        with contextlib.suppress(OSError, ValueError, IndexError):
            if int(stat.read_text().rpartition(")")[2].split()[1]) == pid:
                children.append(int(stat.parent.name))
    return sorted(children)


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def machine_busy_seconds() -> float:
    """CPU time all processes of the machine have used (every core), from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle, iowait
    return (sum(fields[:8]) - idle) / CLOCK_TICKS


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


# -- the viewers (client processes) ------------------------------------------------------------------
class Stream:
    """One EventSource-like viewer: HTTP/1.1 GET, chunked body, SSE events; post arrivals timed.

    Each read takes the kernel's receive timestamp (``SO_TIMESTAMPNS``: when the bytes reached this socket)
    as well as the time this process got to them: the first is the delivery time, whatever this process was
    doing meanwhile; the second adds the viewer's own delay (it shares the machine's cores with the server).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setblocking(False)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.opened: asyncio.Future[None] | None = None
        self.head = b""
        self.in_body = False
        self.raw = bytearray()  # chunked framing not yet decoded
        self.chunk_left = -1  # bytes left in the current chunk (+2 for its CRLF); -1: a size line is next
        self.sse = bytearray()  # decoded body not yet cut into events
        self.posts: list[tuple[int, float, float, float]] = []  # (seq, sent, reached the socket, read)
        self.other_events = 0
        self.bad_ids = 0
        self.lost_connection: str | None = None
        self.kernel_at = self.read_at = 0.0

    async def open(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        self.opened = loop.create_future()
        await loop.sock_connect(self.sock, (host, port))
        await loop.sock_sendall(
            self.sock,
            f"GET {self.path} HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n"
            "Cache-Control: no-cache\r\n\r\n".encode(),
        )
        loop.add_reader(self.sock.fileno(), self.readable)
        await self.opened

    def close(self) -> None:
        if self.sock.fileno() >= 0:
            asyncio.get_running_loop().remove_reader(self.sock.fileno())
            self.sock.close()

    def readable(self) -> None:
        try:
            data, ancillary, _, _ = self.sock.recvmsg(1 << 16, CMSG_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._fail(f"connection lost: {exc}")
            return
        self.read_at = time.time()
        self.kernel_at = self.read_at
        for level, kind, value in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                seconds, nanoseconds = struct.unpack("qq", value[:16])
                self.kernel_at = seconds + nanoseconds / 1e9  # the last segment of this read: conservative
        if not data:
            self._fail("the server closed the connection")
            return
        self.data_received(data)

    def data_received(self, data: bytes) -> None:
        if not self.in_body:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            head, data = self.head[:end], self.head[end + 4 :]
            self.in_body = True
            status = head.split(b"\r\n", 1)[0]
            if b" 200 " not in status or b"chunked" not in head.lower():
                self._fail(f"unexpected answer: {head[:200]!r}")
                return
        self.raw += data
        self._dechunk()
        self._events()

    def _dechunk(self) -> None:
        raw = self.raw
        while raw:
            if self.chunk_left < 0:
                end = raw.find(b"\r\n")
                if end < 0:
                    return
                size = int(bytes(raw[:end]).split(b";")[0], 16)
                del raw[: end + 2]
                if size == 0:
                    self._fail("the server ended the stream")
                    return
                self.chunk_left = size + 2
            take = min(self.chunk_left, len(raw))
            self.sse += raw[:take]
            del raw[:take]
            self.chunk_left -= take
            if self.chunk_left == 0:
                del self.sse[-2:]  # the CRLF after the chunk's data
                self.chunk_left = -1

    def _events(self) -> None:
        while (end := self.sse.find(b"\n\n")) >= 0:
            event = bytes(self.sse[:end])
            del self.sse[: end + 2]
            if self.opened is not None and not self.opened.done():
                self.opened.set_result(None)
            if not event.startswith(b"event: post\n"):
                self.other_events += 1
                continue
            found = POST_RE.search(event)
            if not found:
                self.other_events += 1
                continue
            seq, sent = int(found.group(1)), float(found.group(2))
            if f"\nid: {ID_BASE + seq}\n".encode() not in event:
                self.bad_ids += 1
            self.posts.append((seq, sent, self.kernel_at, self.read_at))

    def _fail(self, reason: str) -> None:
        if self.lost_connection is None:
            self.lost_connection = reason
        if self.opened is not None and not self.opened.done():
            self.opened.set_exception(ConnectionError(reason))
        self.close()


async def _client_main(pipe: Connection, host: str, port: int, paths: list[str]) -> None:
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(64)  # connections being opened at once (the listen backlog is finite)

    async def open_one(path: str) -> Stream:
        for attempt in range(5):
            async with gate:
                stream = Stream(path)
                try:
                    await asyncio.wait_for(stream.open(host, port), 30)
                    return stream
                except (OSError, TimeoutError):
                    stream.close()
                    if attempt == 4:
                        raise
            await asyncio.sleep(0.2 * (attempt + 1))
        raise AssertionError("unreachable")

    started = time.perf_counter()
    results = await asyncio.gather(*(open_one(p) for p in paths), return_exceptions=True)
    streams = [r for r in results if isinstance(r, Stream)]
    failures = [repr(r) for r in results if not isinstance(r, Stream)]
    pipe.send(("opened", len(streams), failures[:5], len(failures), time.perf_counter() - started))

    commands: asyncio.Queue[Any] = asyncio.Queue()
    loop.add_reader(pipe.fileno(), lambda: commands.put_nowait(pipe.recv()))
    expected: list[int] = []
    while True:
        if expected:
            try:
                command = await asyncio.wait_for(commands.get(), 0.05)
            except TimeoutError:
                if all(len(s.posts) >= n for s, n in zip(streams, expected, strict=True)):
                    pipe.send(("all-arrived",))
                    expected = []
                continue
        else:
            command = await commands.get()
        if command[0] == "expect":  # how many posts each stream (in order) should get
            expected = command[1]
        elif command[0] == "report":
            pipe.send(
                (
                    "report",
                    [
                        (s.path, s.posts, s.other_events, s.bad_ids, s.lost_connection, len(s.raw) + len(s.sse))
                        for s in streams
                    ],
                )
            )
        elif command[0] == "close":
            for stream in streams:
                stream.close()
            pipe.send(("closed",))
            return


def client_process(pipe: Connection, host: str, port: int, paths: list[str]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent cleans up
    asyncio.run(_client_main(pipe, host, port, paths))


@dataclass
class Viewers:
    """The client processes and the streams they hold."""

    processes: list[multiprocessing.process.BaseProcess] = field(default_factory=list)
    pipes: list[Connection] = field(default_factory=list)
    paths: list[list[str]] = field(default_factory=list)

    def recv(self, pipe: Connection, timeout: float) -> Any:
        if not pipe.poll(timeout):
            raise TimeoutError("a client process did not answer in time")
        return pipe.recv()

    def close(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError):
                pipe.send(("close",))
        for process, pipe in zip(self.processes, self.pipes, strict=True):
            try:
                if pipe.poll(5):
                    pipe.recv()
            except (OSError, EOFError):
                pass
            process.join(5)
            if process.is_alive():
                process.kill()
                process.join(5)


def open_viewers(server: Server, paths: list[str], processes: int) -> tuple[Viewers, float]:
    context = multiprocessing.get_context("spawn")
    viewers = Viewers()
    for n in range(processes):
        mine = paths[n::processes]
        ours, theirs = context.Pipe()
        process = context.Process(target=client_process, args=(theirs, server.host, server.port, mine), daemon=True)
        process.start()
        theirs.close()
        viewers.processes.append(process)
        viewers.pipes.append(ours)
        viewers.paths.append(mine)
    slowest = 0.0
    for pipe in viewers.pipes:
        _, _, failures, failed, seconds = viewers.recv(pipe, 120)
        slowest = max(slowest, seconds)
        if failed:
            viewers.close()
            raise RuntimeError(f"{failed} streams could not be opened, e.g. {failures}")
    return viewers, slowest


# -- measurements ----------------------------------------------------------------------------------
def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def time_requests(server: Server, path: str, count: int, pause: float = 0.0) -> list[float]:
    """Milliseconds per request, each on a new connection."""
    times = []
    for _ in range(count):
        started = time.perf_counter()
        status, _ = server.get(path)
        times.append((time.perf_counter() - started) * 1000)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}")
        if pause:
            time.sleep(pause)
    return times


def probe(server: Server, page: str, count: int) -> dict[str, list[float]]:
    return {"healthz": time_requests(server, "/healthz", count), "page": time_requests(server, page, count)}


def wait_for_quiet(max_wait: float, threshold: float = 0.4) -> float:
    """Wait (up to ``max_wait`` seconds) until the whole machine uses under ``threshold`` cores; the last load."""
    deadline, said = time.monotonic() + max_wait, False
    while True:
        before = machine_busy_seconds()
        time.sleep(1.0)
        load = machine_busy_seconds() - before
        if load < threshold or time.monotonic() >= deadline:
            if said:
                print(
                    f"... {'idle' if load < threshold else 'still busy'} ({load:.1f} cores): going on", file=sys.stderr
                )
            return load
        if not said:
            print(f"... other processes use {load:.1f} cores: waiting up to {max_wait:.0f} s", file=sys.stderr)
            said = True


def settle_rss(server: Server, seconds: float = 1.5) -> int:
    """RSS once it stops moving (or after ``seconds``)."""
    previous, deadline = server.rss_kb(), time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.25)
        current = server.rss_kb()
        if current == previous:
            break
        previous = current
    return server.rss_kb()


@dataclass
class Result:
    name: str
    streams: int
    queries: int
    posts: int
    latencies_ms: list[float] = field(default_factory=list)  # until the bytes reached the viewer's socket
    read_latencies_ms: list[float] = field(default_factory=list)  # until the viewer process read them
    expected: int = 0
    delivered: int = 0
    lost: int = 0
    duplicated: int = 0
    bad_ids: int = 0
    dropped_streams: int = 0
    leftover_bytes: int = 0
    open_seconds: float = 0.0
    rss_idle_kb: int = 0
    rss_streams_kb: int = 0
    probes: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    server_cpu: float = 0.0  # fraction of one core while delivering
    role_cpu: dict[str, float] = field(default_factory=dict)  # the deployment's other processes, likewise
    client_cpu: float = 0.0
    server_cpu_seconds: float = 0.0
    other_cpu: float = 0.0  # cores used by everything else on the machine while delivering (noise)
    delivery_seconds: float = 0.0
    drain_seconds: float = 0.0
    log_problems: list[str] = field(default_factory=list)
    deployment: str = ""  # what runs the server side, for the header line
    server_exit: int | None = None
    raw: list[tuple[int, float, float, float]] = field(default_factory=list)  # (seq, sent, reached, read)

    @property
    def kb_per_stream(self) -> float:
        return (self.rss_streams_kb - self.rss_idle_kb) / self.streams


def run_scenario(args: argparse.Namespace, name: str, queries: int, folder: Path) -> Result:
    result = Result(name, args.clients, queries, args.posts)
    tag = f"bq{os.getpid() % 1000}x{queries}q"  # words no other post or query of this run contains
    words = [f"{tag}{k}" for k in range(queries)]
    server = ProductionServer(folder, args.workers) if args.production else Server(folder)
    result.deployment = server.description
    viewers: Viewers | None = None
    warm_viewers: Viewers | None = None
    try:
        # warm-up: a page, a health check, a stream, a post (each code path once or a few times)
        page = f"/results/{quote(words[0])}"
        probe(server, page, 10)
        result.probes["no stream open"] = probe(server, page, args.requests)
        # the warm-up streams stay open to the end: a closed stream is noticed by the server only when a
        # keep-alive write fails (15 to 30 s later), and it must not be counted in or out of the RSS difference
        warm = f"{tag}warm"
        warm_viewers, _ = open_viewers(server, [f"/api/v1/stream?q={quote(warm)}"] * WARM_STREAMS, 1)
        eventually(lambda: server.metric("twitterstream_watched_queries") >= 1, 20, "the warm-up query", every=0.05)
        for n in range(5):
            server.send(10_000_000 + n, warm)
        time.sleep(0.5)
        result.rss_idle_kb = settle_rss(server)

        # open the streams: viewer i watches query i mod queries
        paths = [f"/api/v1/stream?q={quote(words[i % queries])}" for i in range(args.clients)]
        viewers, result.open_seconds = open_viewers(server, paths, args.client_procs)
        eventually(
            lambda: server.metric("twitterstream_watched_queries") >= queries + 1,
            30,
            "the ingester to watch all",
            every=0.05,
        )
        streams = server.open_streams()
        if streams is not None and streams != args.clients + WARM_STREAMS:
            raise RuntimeError(f"the server counts {streams:.0f} open streams, not {args.clients + WARM_STREAMS}")
        time.sleep(1.0)
        result.rss_streams_kb = settle_rss(server)
        result.probes[f"{args.clients:,} idle streams"] = probe(server, page, args.requests)

        # deliver: post n goes to query n mod queries
        per_query = [sum(1 for n in range(args.posts) if n % queries == k) for k in range(queries)]
        for pipe, mine in zip(viewers.pipes, viewers.paths, strict=True):
            pipe.send(("expect", [per_query[words.index(_word_of(p))] for p in mine]))
        if args.quiet_wait:
            wait_for_quiet(args.quiet_wait)
        busy: dict[str, list[float]] = {"healthz": [], "page": []}
        stop_probing = threading.Event()

        def probe_while_delivering() -> None:
            while not stop_probing.is_set():
                busy["healthz"] += time_requests(server, "/healthz", 1)
                busy["page"] += time_requests(server, page, 1)
                stop_probing.wait(0.1)

        prober = threading.Thread(target=probe_while_delivering, daemon=True)
        client_pids = [p.pid for p in viewers.processes if p.pid is not None]
        cpu_before, client_before, started = server.cpu_seconds(), sum(map(cpu_seconds, client_pids)), time.time()
        roles_before = server.other_cpu_seconds()
        machine_before, me_before = machine_busy_seconds(), cpu_seconds(os.getpid())
        prober.start()
        spy = None
        if args.py_spy:  # a profile of the server while it delivers
            spy = subprocess.Popen(
                [
                    args.py_spy_binary,
                    "record",
                    "--pid",
                    str(server.pid),
                    "--rate",
                    "250",
                    "--format",
                    "raw",
                    "--nonblocking",
                    "-o",
                    f"{args.py_spy}.{name}.txt",
                    "--duration",
                    str(int(args.posts / args.rate) + 2),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(0.5)
            started = time.time()
        interval = 1.0 / args.rate
        for n in range(args.posts):
            delay = started + n * interval - time.time()
            if delay > 0:
                time.sleep(delay)
            server.send(n, words[n % queries])
        last_sent = time.time()
        for pipe in viewers.pipes:  # every stream has every post of its query, or the time is up
            if pipe.poll(max(args.drain - (time.time() - last_sent), 0.01)):
                pipe.recv()
        result.drain_seconds = time.time() - last_sent
        if spy is not None:
            spy.wait(60)
        stop_probing.set()
        prober.join()
        elapsed = time.time() - started
        result.delivery_seconds = elapsed
        result.server_cpu = (server.cpu_seconds() - cpu_before) / elapsed
        result.client_cpu = (sum(map(cpu_seconds, client_pids)) - client_before) / elapsed
        result.server_cpu_seconds = server.cpu_seconds() - cpu_before
        result.role_cpu = {
            role: (seconds - roles_before[role]) / elapsed for role, seconds in server.other_cpu_seconds().items()
        }
        result.other_cpu = (
            (machine_busy_seconds() - machine_before - (cpu_seconds(os.getpid()) - me_before)) / elapsed
            - result.server_cpu
            - sum(result.role_cpu.values())
            - result.client_cpu
        )
        result.probes["while delivering"] = busy

        for pipe in viewers.pipes:
            pipe.send(("report",))
        for pipe in viewers.pipes:
            _, reports = viewers.recv(pipe, 60)
            for path, posts, _others, bad_ids, lost_connection, leftover in reports:
                want = {n for n in range(args.posts) if words[n % queries] == _word_of(path)}
                seen: dict[int, int] = {}
                for seq, sent, reached, read in posts:
                    result.raw.append((seq, sent, reached, read))
                    seen[seq] = seen.get(seq, 0) + 1
                    result.latencies_ms.append((reached - sent) * 1000)
                    result.read_latencies_ms.append((read - sent) * 1000)
                result.expected += len(want)
                result.delivered += len(posts)
                result.lost += len(want - seen.keys())
                result.duplicated += sum(c - 1 for c in seen.values()) + len(seen.keys() - want)
                result.bad_ids += bad_ids
                result.dropped_streams += lost_connection is not None
                result.leftover_bytes += leftover
    finally:
        for group in (viewers, warm_viewers):
            if group is not None:
                group.close()
        result.server_exit = server.stop()
        result.log_problems = [
            line
            for line in server.log_text().splitlines()
            if re.search(r"WARNING|ERROR|CRITICAL|Traceback|Exception", line)
            and "SECRET_KEY" not in line
            and "overcommit" not in line  # redis-server on a host with vm.overcommit_memory=0 (no saves here)
        ]
    return result


def _word_of(path: str) -> str:
    return path.rpartition("q=")[2]


# -- the report ------------------------------------------------------------------------------------
def fmt_ms(values: list[float]) -> str:
    return f"{percentile(values, 0.5):.1f} / {percentile(values, 0.99):.1f}"


def table(args: argparse.Namespace, results: list[Result]) -> str:
    header = (
        "| | "
        + " | ".join(f"{r.streams:,} streams, {r.queries} quer{'y' if r.queries == 1 else 'ies'}" for r in results)
        + " | target |"
    )
    rows = [header, "| --- " * (len(results) + 2) + "|"]

    def row(label: str, cells: list[str], target: str = "") -> None:
        rows.append(f"| {label} | " + " | ".join(cells) + f" | {target} |")

    def spread(values: list[float], bold: bool) -> str:
        p50, p99, top = percentile(values, 0.5), percentile(values, 0.99), max(values, default=float("nan"))
        return f"{p50:.1f} / {f'**{p99:.1f}**' if bold else f'{p99:.1f}'} / {top:.1f}"

    row(
        "delivery latency p50 / p99 / max (ms): written into the FIFO → bytes in the viewer's socket",
        [spread(r.latencies_ms, True) for r in results],
        f"p99 < {TARGET_P99_MS:.0f}",
    )
    row(
        "the same, until the viewer process read them (adds the viewers' own delay)",
        [spread(r.read_latencies_ms, False) for r in results],
    )
    row(
        "deliveries received / expected (lost, duplicated)",
        [f"{r.delivered:,} / {r.expected:,} ({r.lost}, {r.duplicated})" for r in results],
        "all (0, 0)",
    )
    row(
        "server RSS, no stream → streams open (MB)",
        [f"{r.rss_idle_kb / 1024:.1f} → {r.rss_streams_kb / 1024:.1f}" for r in results],
    )
    row(
        "server memory per idle stream (kB)",
        [f"**{r.kb_per_stream:.1f}**" for r in results],
        f"< {TARGET_KB_PER_STREAM:.0f}",
    )
    for probe_name in results[0].probes:
        row(
            f"`/healthz` p50 / p99 (ms), {probe_name}",
            [fmt_ms(r.probes[probe_name]["healthz"]) for r in results],
        )
    for probe_name in results[0].probes:
        row(
            f"`/results/<q>` p50 / p99 (ms), {probe_name}",
            [fmt_ms(r.probes[probe_name]["page"]) for r in results],
        )
    row("server CPU while delivering (share of one core)", [f"{r.server_cpu:.0%}" for r in results])
    row(
        "server CPU per post, ms (per delivered message, µs)",
        [
            f"{r.server_cpu_seconds / r.posts * 1e3:.1f} ({r.server_cpu_seconds / max(r.delivered, 1) * 1e6:.0f})"
            for r in results
        ],
    )
    for role in results[0].role_cpu:
        row(f"{role} CPU while delivering (share of one core)", [f"{r.role_cpu[role]:.0%}" for r in results])
    row("viewer processes' CPU while delivering (cores)", [f"{r.client_cpu:.2f}" for r in results])
    row("other processes' CPU meanwhile (cores, noise)", [f"{max(r.other_cpu, 0):.2f}" for r in results])
    row("time to open all streams (s)", [f"{r.open_seconds:.1f}" for r in results])
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000, help="concurrent streams (1000)")
    parser.add_argument("--queries", type=int, nargs="+", default=[1, 50], help="scenarios: queries (1 50)")
    parser.add_argument("--posts", type=int, default=200, help="posts per scenario (200)")
    parser.add_argument("--rate", type=float, default=20.0, help="posts per second (20)")
    parser.add_argument("--client-procs", type=int, default=2, help="viewer processes (2)")
    parser.add_argument("--requests", type=int, default=50, help="timed /healthz and page requests (50 each)")
    parser.add_argument("--drain", type=float, default=10.0, help="seconds to wait for stragglers (10)")
    parser.add_argument(
        "--quiet-wait", type=float, default=60.0, help="wait up to this long for an idle machine before posting (60)"
    )
    parser.add_argument("--dump", type=Path, help="write every delivery (seq, sent, arrived) as JSON here")
    parser.add_argument("--py-spy", metavar="PREFIX", help="profile the server while it delivers: PREFIX.<n>q.txt")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed, too")
    parser.add_argument("--quick", action="store_true", help="200 streams, 40 posts, 20 requests")
    parser.add_argument(
        "--production",
        action="store_true",
        help="redis-server + `twitterstream ingest` + `twitterstream web` (gunicorn) instead of serve",
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="gunicorn workers with --production (2, WEB_CONCURRENCY's default)"
    )
    args = parser.parse_args()
    if args.quick:
        args.clients, args.posts, args.requests = 200, 40, 20
    if args.py_spy:  # py-spy is no dependency of the project: the venv's (pip install py-spy) or one on PATH
        venv_bin = str(Path(sys.executable).parent)
        args.py_spy_binary = shutil.which("py-spy", path=venv_bin + os.pathsep + os.environ.get("PATH", ""))
        if args.py_spy_binary is None:
            parser.error("--py-spy needs py-spy: install it into the venv with `.venv/bin/pip install py-spy`")
        Path(args.py_spy).parent.mkdir(parents=True, exist_ok=True)

    # file descriptors: one per stream here and in the server (which inherits this limit), plus spare
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.clients + 1024
    if soft != resource.RLIM_INFINITY and soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            print(f"the file descriptor limit (hard {hard}) is below {need}: raise it (ulimit -Hn)", file=sys.stderr)
            return 2
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))

    command = "python bench/bench_live.py " + shlex.join(sys.argv[1:])
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-live-") as tmp:
        for queries in args.queries:
            folder = Path(tmp) / f"q{queries}"
            folder.mkdir()
            print(f"... {args.clients} streams on {queries} quer{'y' if queries == 1 else 'ies'}", file=sys.stderr)
            results.append(run_scenario(args, f"{queries}q", queries, folder))

    print(
        f"`{command.strip()}`: {os.cpu_count()} cores ({platform.processor() or platform.machine()}), "
        f"Python {platform.python_version()}; {results[0].deployment}; {args.posts} posts at {args.rate:g}/s; "
        f"viewers in {args.client_procs} asyncio processes on the same machine; {args.requests} timed requests "
        "per probe (new connection each).\n"
    )
    print(table(args, results))
    if args.dump:
        args.dump.write_bytes(orjson.dumps({r.name: r.raw for r in results}))
    status = 0
    for r in results:
        failures, misses = [], []
        if r.lost or r.duplicated or r.bad_ids or r.dropped_streams:
            failures.append(
                f"lost {r.lost}, duplicated {r.duplicated}, wrong ids {r.bad_ids}, streams dropped {r.dropped_streams}"
            )
        if r.server_exit not in (0, None):
            failures.append(f"the server exited with {r.server_exit}")
        if percentile(r.latencies_ms, 0.99) >= TARGET_P99_MS:
            misses.append(f"p99 {percentile(r.latencies_ms, 0.99):.1f} ms >= {TARGET_P99_MS:.0f} ms")
        if r.kb_per_stream >= TARGET_KB_PER_STREAM:
            misses.append(f"{r.kb_per_stream:.1f} kB per idle stream >= {TARGET_KB_PER_STREAM:.0f} kB")
        if r.other_cpu > 0.3:
            misses.append(f"other processes used {r.other_cpu:.1f} cores meanwhile: the figures are pessimistic")
        for line in r.log_problems[:5]:
            print(f"{r.name}: server log: {line}", file=sys.stderr)
        for problem in failures + misses:
            print(f"{r.name}: {problem}", file=sys.stderr)
        if failures or (misses and args.strict):
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
