"""The ``twitterstream`` command: serve, web, ingest, check.

``serve`` and ``ingest`` switch the process to gevent first (before Flask, httpx or redis are imported),
so that thousands of open live streams cost a greenlet each, not a thread each. ``web`` runs gunicorn
with gevent workers, which do the same in each worker.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="twitterstream", description="A live search wall.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="web and ingester in one process (SQLite by default)")
    web = commands.add_parser("web", help="web only (use with a shared store: DATABASE_URL=redis://...)")
    ingest = commands.add_parser("ingest", help="ingester only; serves /healthz, /readyz, /metrics on --port")
    for command, port in ((serve, 5000), (web, 5000), (ingest, 9000)):
        command.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s)")
        command.add_argument("--port", type=int, default=port, help="port to listen on (default %(default)s)")
    web.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("WEB_CONCURRENCY", "2")),
        help="gunicorn gevent workers (default: WEB_CONCURRENCY or 2)",
    )
    check = commands.add_parser("check", help="parse a query: print its canonical form, or the error (exit 2)")
    check.add_argument("query", help='the query, e.g. "#nyc -is:retweet lang:en"')
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "check":
        return check(args.query)
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
    if args.command == "serve":
        return serve(args.host, args.port)
    if args.command == "ingest":
        return ingest(args.host, args.port)
    return web(args.host, args.port, args.workers)


def check(text: str) -> int:
    """Print the canonical form of a query (exit 0) or what is wrong and where (exit 2)."""
    from twitterstream.query import QueryError, parse

    try:
        query = parse(text)
    except QueryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(query.key)
    return 0


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
    instance_path = os.environ.get("TWITTERSTREAM_INSTANCE_PATH", str(Path.cwd() / "instance"))
    path = sqlite_path(settings.database_url, instance_path)
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
    from twitterstream.sources import make_source

    settings = app.config["SETTINGS"]
    # Replayed posts are demos or old captures: cards, not oEmbed requests for ids that may not exist.
    # Mastodon embeds come only from the configured instance (the CSP frames only it; no requests to
    # whatever host a federated status names).
    mastodon_url = settings.mastodon_url if settings.source == "mastodon" else None
    embedder = None if settings.source == "replay" else EmbedFetcher(settings.x_oembed_url, mastodon_url=mastodon_url)
    ingester = Ingester(
        settings,
        app.extensions["store"],
        lambda sink: make_source(settings, sink),
        embedder,
        lock_ttl=settings.ingester_lock_ttl,
    )
    app.extensions["ingester"] = ingester
    return ingester.start()


def _serve_forever(app: Any, host: str, port: int, on_stop: Any) -> int:
    import logging
    import signal

    import gevent
    from gevent.pywsgi import WSGIServer

    log = logging.getLogger("twitterstream")
    server = WSGIServer((host, port), app, log=None, error_log=logging.getLogger("twitterstream.http"))

    def stop() -> None:
        log.info("stopping")
        from twitterstream.web.live import stop_all_hubs

        stop_all_hubs()  # live streams never end by themselves: end them, browsers reconnect
        server.stop(timeout=3)

    gevent.signal_handler(signal.SIGTERM, stop)
    gevent.signal_handler(signal.SIGINT, stop)
    server.start()  # bind now, so that the real port is known with --port 0
    log.info("listening on http://%s:%d/", host, server.server_port)
    try:
        server.serve_forever()
    finally:
        on_stop()
    return 0


def serve(host: str, port: int) -> int:
    """Web and ingester in one process."""
    from twitterstream import create_app

    app = create_app()
    ingester = _start_ingester(app)

    def on_stop() -> None:
        app.extensions["hub"].stop()
        ingester.stop()
        app.extensions["store"].close()

    return _serve_forever(app, host, port, on_stop)


def ingest(host: str, port: int) -> int:
    """The ingester alone, with its operations endpoints."""
    from twitterstream import create_app

    app = create_app({"ROLE": "ingest"})
    ingester = _start_ingester(app)

    def on_stop() -> None:
        ingester.stop()
        app.extensions["store"].close()

    return _serve_forever(app, host, port, on_stop)


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
