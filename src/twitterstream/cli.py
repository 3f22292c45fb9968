"""The ``twitterstream`` command: serve, web, ingest, check.

``serve`` and ``ingest`` switch the process to gevent first (before Flask, httpx or redis are imported),
so that thousands of open live streams cost a greenlet each, not a thread each. ``web`` runs gunicorn
with gevent workers, which do the same in each worker.
"""

from __future__ import annotations

import argparse
import errno
import socket
import sys
from typing import Any

SOURCES = ("x", "bluesky", "mastodon", "replay")  # config.SOURCE_NAMES, without importing config here


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="twitterstream", description="A live search wall.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="web and ingester in one process (SQLite by default)")
    web = commands.add_parser("web", help="web only (use with a shared store: DATABASE_URL=redis://...)")
    ingest = commands.add_parser("ingest", help="ingester only; serves /healthz, /readyz, /metrics on --port")
    for command, port in ((serve, "PORT or 5000"), (web, "PORT or 5000"), (ingest, "9000")):
        command.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s)")
        command.add_argument("--port", type=int, default=None, help=f"port to listen on (default {port})")
    web.add_argument(
        "--workers",
        type=int,
        default=None,
        help="gunicorn gevent workers (default: WEB_CONCURRENCY or 2)",
    )
    check = commands.add_parser("check", help="parse a query: print its canonical form, or the error (exit 2)")
    check.add_argument("--source", choices=SOURCES, help="the source to check against (default TWITTERSTREAM_SOURCE)")
    check.add_argument(
        "query",
        nargs="+",
        help='the query, e.g. "#nyc -is:retweet lang:en" (options go before it; it may start with -)',
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(_query_is_not_an_option(list(sys.argv[1:] if argv is None else argv)))
    if args.command == "check":
        return check(" ".join(args.query), args.source)
    if args.command in ("serve", "ingest"):
        from gevent import monkey

        monkey.patch_all()
    try:
        settings = _settings()
    except ValueError as exc:  # ConfigError: a setting the app cannot use
        print(f"twitterstream: {exc}", file=sys.stderr)
        return 2
    from twitterstream.config import secret_values
    from twitterstream.logs import configure_logging

    configure_logging(settings.log_level, settings.log_format, secret_values(settings))
    problem = _sqlite_problem(settings)
    if problem is not None:
        print(f"twitterstream: {problem}", file=sys.stderr)
        return 2
    port = args.port if args.port is not None else 9000 if args.command == "ingest" else settings.port
    try:  # bind before anything starts: a busy port is one line, not a traceback from deep in a server
        listener = _listen(args.host, port)
    except OSError as exc:
        print(
            f"twitterstream: {_listen_problem(exc, args.host, port, args.command, args.port is not None)}",
            file=sys.stderr,
        )
        return 1
    if args.command == "serve":
        return serve(listener)
    if args.command == "ingest":
        return ingest(listener)
    listener.close()  # gunicorn binds itself; the port was free a moment ago
    return web(args.host, port, args.workers or settings.web_concurrency)


def _query_is_not_an_option(argv: list[str]) -> list[str]:
    """``check -cats dogs``: put ``--`` before the query so that argparse does not read ``-cats`` as an option."""
    if not argv or argv[0] != "check":
        return argv
    i = 1
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            return argv
        if arg in ("-h", "--help") or arg.startswith("--source="):
            i += 1
        elif arg == "--source":
            i += 2
        else:
            return [*argv[:i], "--", *argv[i:]]
    return argv


def check(text: str, source: str | None = None) -> int:
    """Print the canonical form of a query (exit 0) or what is wrong and where (exit 2), for ``source``
    (default: the configured ``TWITTERSTREAM_SOURCE``, every source of its list): a query that no such source
    can evaluate is an error too."""
    sources: str | tuple[str, ...] | None = source
    if sources is None:
        try:
            sources = _settings().source_names
        except ValueError as exc:  # ConfigError
            print(f"twitterstream: {exc}", file=sys.stderr)
            return 2
    from twitterstream.query import QueryError
    from twitterstream.web.queries import read_query

    try:
        query = read_query(text, sources)
    except QueryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(query.key)
    return 0


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (raises OSError: the port is in use, the address is not ours...)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do: restart over TIME_WAIT
        sock.bind((host, port))
        sock.listen(1024)
    except OSError:
        sock.close()
        raise
    return sock


def _listen_problem(exc: OSError, host: str, port: int, command: str, port_given: bool) -> str:
    if exc.errno != errno.EADDRINUSE:
        return f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    other = f"--port {port + 1}" if port_given or command == "ingest" else f"PORT={port + 1}"
    return f"port {port} is in use (is another TwitterStream running? try {other})"


def _settings() -> Any:
    from twitterstream.config import load_settings

    return load_settings()


def _sqlite_problem(settings: Any) -> str | None:
    """Why the SQLite store cannot be used (a damaged file, a read-only or unwritable folder), in one line;
    None when it can. A Redis store is not checked here: the app waits for Redis as it waits for a restart."""
    if settings.database_url.startswith(("redis://", "rediss://")):
        return None
    from pathlib import Path

    from twitterstream.store import StoreUnavailable, sqlite_path
    from twitterstream.store.sqlite import SQLiteStore

    # the instance folder as the app factory finds it
    instance_path = settings.instance_path or str(Path.cwd() / "instance")
    path = sqlite_path(settings.database_url, instance_path, settings.source)
    try:
        store = SQLiteStore(path)
        try:
            store.check()
        finally:
            store.close()
    except StoreUnavailable as exc:
        return f"cannot use the store at {path}: {exc}"
    return None


def _start_ingester(app: Any) -> Any:
    from twitterstream.embed import EmbedFetcher
    from twitterstream.ingest import Ingester
    from twitterstream.sources import source_factories

    settings = app.config["SETTINGS"]
    names = settings.source_names
    # Replayed posts are demos or old captures: cards, not oEmbed requests for ids that may not exist.
    # Mastodon embeds come only from the configured instance (the CSP frames only it; no requests to
    # whatever host a federated status names).
    mastodon_url = settings.mastodon_url if "mastodon" in names else None
    embedder = None if names == ("replay",) else EmbedFetcher(settings.x_oembed_url, mastodon_url=mastodon_url)
    ingester = Ingester(
        settings,
        app.extensions["store"],
        source_factories(settings),
        embedder,
        lock_ttl=settings.ingester_lock_ttl,
    )
    app.extensions["ingester"] = ingester
    return ingester.start()


def _serve_forever(app: Any, listener: socket.socket, on_stop: Any) -> int:
    import logging
    import signal

    import gevent

    from twitterstream.web.server import GuardedServer

    log = logging.getLogger("twitterstream")
    settings = app.config["SETTINGS"]
    server = GuardedServer(listener, app, read_timeout=settings.read_timeout, max_connections=settings.max_connections)

    def stop() -> None:
        log.info("stopping")
        from twitterstream.web.live import stop_all_hubs

        stop_all_hubs()  # live streams never end by themselves: end them, browsers reconnect
        server.stop(timeout=3)

    gevent.signal_handler(signal.SIGTERM, stop)
    gevent.signal_handler(signal.SIGINT, stop)
    server.start()
    host, port = listener.getsockname()[:2]  # the real port, with --port 0
    log.info("listening on http://%s:%d/", host, port)
    try:
        server.serve_forever()
    finally:
        on_stop()
    return 0


def serve(listener: socket.socket) -> int:
    """Web and ingester in one process."""
    from twitterstream import create_app

    app = create_app()
    ingester = _start_ingester(app)

    def on_stop() -> None:
        app.extensions["hub"].stop()
        ingester.stop()
        app.extensions["store"].close()

    return _serve_forever(app, listener, on_stop)


def ingest(listener: socket.socket) -> int:
    """The ingester alone, with its operations endpoints."""
    from twitterstream import create_app

    app = create_app({"ROLE": "ingest"})
    ingester = _start_ingester(app)

    def on_stop() -> None:
        ingester.stop()
        app.extensions["store"].close()

    return _serve_forever(app, listener, on_stop)


def web(host: str, port: int, workers: int) -> int:
    """The web role under gunicorn with gevent workers (the production server)."""
    from gunicorn.app.base import BaseApplication

    class WebServer(BaseApplication):
        def load_config(self) -> None:
            options = {
                "bind": f"{host}:{port}",
                "workers": max(workers, 1),
                "worker_class": "twitterstream.web.worker.LiveStreamWorker",
                "worker_connections": 5000,
                "graceful_timeout": 10,
                "keepalive": 75,  # keep idle connections longer than the load balancer does (60 s)
                # Request line and headers: bounded in size here and, with gevent workers, in time by
                # `keepalive` (each request is read under it); the load balancer / nginx bounds slow bodies.
                "limit_request_line": 8190,
                "limit_request_fields": 100,
                "limit_request_field_size": 8190,
                "accesslog": None,
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            from twitterstream import create_app

            return create_app()

    WebServer().run()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
