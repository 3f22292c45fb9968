"""The application factory: settings, store, live hub, blueprints, error pages, security headers."""

from __future__ import annotations

import io
import logging
import secrets
from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, current_app, jsonify, render_template, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import ClientDisconnected, HTTPException, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from twitterstream.config import Settings, load_settings, mastodon_media_origins
from twitterstream.store import Store, StoreUnavailable, open_store
from twitterstream.web import (
    access,
    admin,
    admin_api,
    api,
    columns,
    embed_wall,
    feeds,
    openapi,
    ops,
    stats,
    views,
    walls,
)
from twitterstream.web.client_limits import ClientLimits
from twitterstream.web.context import (
    get_settings,
    public_url_for,
    running_source,
    source_status,
    wake_ingester,
    x_usage,
)
from twitterstream.web.cors import init_cors
from twitterstream.web.live import LiveHub
from twitterstream.web.moderated import init_moderation
from twitterstream.web.operator import init_operator
from twitterstream.web.query_status import own_status

log = logging.getLogger(__name__)
#: Where the generated secret key is kept when SECRET_KEY is not set (the store's small state).
SHARED_SECRET_KEY = "web_secret_key"
csrf = CSRFProtect()

#: The largest request body accepted: the search form with the longest query (1,024 characters, each
#: up to 4 UTF-8 bytes, percent-encoded: 12 kB) and its CSRF token. Larger bodies get 413 unread.
MAX_BODY_BYTES = 16 * 1024
HSTS = "max-age=31536000; includeSubDomains"

_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' https://platform.twitter.com https://embed.bsky.app",
        "frame-src https://platform.twitter.com https://syndication.twitter.com https://embed.bsky.app {mastodon}",
        # the services' media and avatar hosts (Bluesky's video posters come from its video service)
        "img-src 'self' data: https://pbs.twimg.com https://abs.twimg.com https://cdn.bsky.app https://video.bsky.app"
        " {mastodon_media}",
        # no inline styles: an injected <style> or style attribute could restyle the page (or phone home
        # through a background URL); the embed scripts size their frames through the CSSOM, which is allowed
        "style-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def build_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create and configure the app (see ``twitterstream.create_app``)."""
    test_config = dict(test_config or {})
    settings: Settings = test_config.pop("SETTINGS", None) or load_settings()
    instance_path = test_config.pop("INSTANCE_PATH", None) or settings.instance_path or str(Path.cwd() / "instance")
    app = Flask(__name__, instance_path=str(instance_path), instance_relative_config=True)
    app.config.from_mapping(
        SETTINGS=settings,
        WTF_CSRF_TIME_LIMIT=None,
        JSON_SORT_KEYS=False,
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        MAX_FORM_MEMORY_SIZE=MAX_BODY_BYTES,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    app.config.update(test_config)
    if settings.trusted_proxies:  # behind a load balancer and/or nginx: trust their X-Forwarded-* headers
        hops = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]

    store: Store = app.config.get("STORE") or open_store(settings.database_url, app.instance_path, settings.source)
    app.extensions["store"] = store
    if not app.config.get("SECRET_KEY"):  # the ingester's port has no forms: it needs no shared key
        ingest = app.config.get("ROLE") == "ingest"
        app.config["SECRET_KEY"] = secrets.token_hex(32) if ingest else _secret_key(settings, store)
    query_feed = init_moderation(app, store, settings)  # the hub reads only what an audience may see
    limits = app.extensions["client_limits"] = ClientLimits(settings, store)
    app.extensions["hub"] = LiveHub(
        query_feed,
        grace_seconds=settings.watch_grace_seconds,
        read_status=lambda: source_status(app),
        on_new_query=lambda: wake_ingester(app),
        heartbeat_seconds=settings.sse_keepalive_seconds,
        formatter=query_feed.format,
        on_heartbeat=limits.renew_stream_places,
    )
    app.session_interface = _SessionCookies()
    app.before_request(_refuse_unreadable_requests)  # before CSRF, which reads the form
    csrf.init_app(app)
    init_operator(app)

    app.register_blueprint(ops.bp)
    if app.config.get("ROLE") != "ingest":  # the ingester's port serves operations endpoints only
        app.register_blueprint(views.bp)
        app.register_blueprint(api.bp)
        app.register_blueprint(stats.bp)
        app.register_blueprint(columns.bp)  # several queries side by side
        for blueprint in (feeds.bp, embed_wall.bp, openapi.bp):  # posts going out: feeds, export, embed, docs
            app.register_blueprint(blueprint)
        for blueprint in (walls.bp, admin.bp, admin_api.bp):  # walls and their moderation
            app.register_blueprint(blueprint)
        init_cors(app)
    csrf.exempt(api.bp)
    csrf.exempt(stats.bp)
    csrf.exempt(walls.bp)
    csrf.exempt(admin_api.bp)  # bearer scripts send no form token; browser sessions are checked there
    csrf.exempt(ops.bp)
    _register_errors(app)
    app.after_request(_security_headers)
    access.install(app)
    app.jinja_env.globals["embeds"] = settings.embeds  # how every page draws a post: "card" or "original"
    app.jinja_env.globals["source_status"] = lambda: source_status(app)
    app.jinja_env.globals["source_hint"] = lambda: _source_hint(settings, running_source(app))
    app.jinja_env.globals["x_usage"] = x_usage
    app.jinja_env.globals["own_status"] = own_status  # a query's status line: its own networks only
    app.jinja_env.globals["public_url_for"] = public_url_for
    return app


class _SessionCookies(SecureCookieSessionInterface):
    """Flask's signed session cookie, marked ``Secure`` whenever the request came over HTTPS.

    ``SESSION_COOKIE_SECURE`` is one value for every request; the same process may be reached over plain
    HTTP (health checks, a local run) and over HTTPS (through the load balancer, as ProxyFix reports it).
    """

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def _refuse_unreadable_requests() -> None:
    """400 for a query string that is not UTF-8; 413 for a declared body over the limit, before reading it."""
    try:
        request.environ.get("QUERY_STRING", "").encode("latin-1").decode("utf-8")
    except UnicodeError:
        abort(400, "The address has bytes that are not UTF-8 text after its '?': check the link.")
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    too_large = f"The request body is over {limit // 1024} kB: nothing here takes that much."
    if request.content_length is not None:
        if request.content_length > limit:
            raise RequestEntityTooLarge(too_large)
    elif request.environ.get("wsgi.input_terminated") and "chunked" in request.headers.get("Transfer-Encoding", ""):
        # No declared length: read one byte over the limit now (Werkzeug would quietly cut the form there).
        body = _read_at_most(request.environ["wsgi.input"], limit + 1)
        if len(body) > limit:
            raise RequestEntityTooLarge(too_large)
        request.environ["wsgi.input"] = io.BytesIO(body)


def _read_at_most(stream: Any, size: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while total < size:
        try:
            chunk = stream.read(size - total)
        except OSError:  # the server's word for a client that left mid-body
            raise ClientDisconnected() from None
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _secret_key(settings: Settings, store: Store) -> str:
    """``SECRET_KEY``, else one generated key that every worker and replica on this store shares."""
    if settings.secret_key:
        return settings.secret_key.reveal()
    log.warning("SECRET_KEY is not set: using a generated key kept in the store (set SECRET_KEY to choose your own)")
    try:
        return str(store.state_setdefault(SHARED_SECRET_KEY, secrets.token_hex(32)))
    except StoreUnavailable as exc:
        log.warning("cannot share a generated SECRET_KEY (%s): this process uses its own until restarted", exc)
        return secrets.token_hex(32)


def _source_hint(settings: Settings, running: str) -> str:
    """What to set to use X, when Bluesky was chosen only because no X token is set (and an ingester on
    another source has not said otherwise)."""
    if running == "bluesky" and settings.source == "bluesky" and not settings.source_explicit:
        return (
            "Showing Bluesky because X_BEARER_TOKEN is not set. To watch X instead, set X_BEARER_TOKEN to your "
            "X app's bearer token (in the environment or a .env file) and restart."
        )
    return ""


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _register_errors(app: Flask) -> None:
    @app.errorhandler(404)
    def not_found(error: HTTPException) -> tuple[Any, int]:
        if _wants_json():
            return jsonify(error={"message": f"no such endpoint: {request.path}", "position": None}), 404
        return render_template("404.html"), 404

    @app.errorhandler(CSRFError)
    def csrf_failed(error: CSRFError) -> tuple[Any, int]:
        return render_template("error.html", message="The form expired. Please search again."), 400

    @app.errorhandler(ClientDisconnected)
    def client_left(error: ClientDisconnected) -> tuple[Any, int]:
        # Nobody reads this answer: the client closed its connection while sending the body.
        log.info("client left before sending its whole request body: %s %s", request.method, request.path)
        return jsonify(error={"message": "incomplete request body", "position": None}), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Any, int, dict[str, str]]:
        code = error.code or 500
        # the exception's own headers that a client acts on (429/503 carry Retry-After in whole seconds)
        headers = {k: v for k, v in error.get_headers() if k == "Retry-After"}
        if _wants_json():
            return jsonify(error={"message": error.description, "position": None}), code, headers
        return render_template("error.html", message=error.description), code, headers

    @app.errorhandler(StoreUnavailable)
    def store_down(error: StoreUnavailable) -> tuple[Any, int]:
        log.warning("store unavailable: %s", error)
        message = "The store does not answer right now; please retry in a moment."
        if _wants_json():
            return jsonify(error={"message": message, "position": None}), 503
        return render_template("error.html", message=message), 503

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[Any, int]:
        log.exception("unhandled error on %s %s", request.method, request.path)
        message = "Something went wrong on our side. It has been logged."
        if _wants_json():
            return jsonify(error={"message": message, "position": None}), 500
        return render_template("error.html", message=message), 500


def _security_headers(response: Response) -> Response:
    settings = get_settings()
    mastodon = settings.mastodon_url if "mastodon" in settings.source_names else ""
    media = " ".join(mastodon_media_origins(settings)) if mastodon else ""
    policy = _CSP.format(mastodon=mastodon, mastodon_media=media).replace(" ;", ";")
    response.headers.setdefault("Content-Security-Policy", policy)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response
