"""The operator's JSON API under /api/v1/admin/: blocklist, hiding posts, walls and their queues, the audit log.

Every request must carry ``Authorization: Bearer <password>`` or the operator's session (whose changes
also carry the page's CSRF token in ``X-CSRFToken``); anything else is answered 401 in JSON.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError

from twitterstream.moderation import Blocklist, BlocklistError, Wall, WallError
from twitterstream.moderation.actions import DECISIONS, UnknownPost
from twitterstream.web import operator
from twitterstream.web.context import get_store, running_sources, this_app, wake_ingester
from twitterstream.web.moderated import find_wall, get_moderator, get_screen
from twitterstream.web.queries import read_query

bp = Blueprint("admin_api", __name__, url_prefix="/api/v1/admin")

MAX_AUDIT = 1000


class ApiError(Exception):
    """An answer other than 200, with ``{"error": {"message", "position"}}``."""

    def __init__(self, status: int, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.position = position


@bp.errorhandler(ApiError)
def api_error(error: ApiError) -> tuple[Response, int]:
    response = jsonify(error={"message": error.message, "position": error.position})
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="twitterstream operator"'
    return response, error.status


@bp.before_request
def only_the_operator() -> tuple[Response, int] | None:
    """Let the operator through (bearer password or session); refuse anyone else with JSON."""
    if not operator.enabled():
        raise ApiError(403, "operator features are off: set TWITTERSTREAM_ADMIN_PASSWORD and restart")
    client = operator.client_address()
    limiter = operator.failed_logins()
    wait = limiter.retry_after(client)
    if wait:
        response = jsonify(error={"message": f"too many failed logins: try again in {wait} s", "position": None})
        response.headers["Retry-After"] = str(wait)
        return response, 429
    token = operator.bearer()
    if token is not None:
        if operator.password_matches(token):
            return None
        limiter.failed(client)
        get_moderator().audit("login_failed", client, via="bearer")
        raise ApiError(401, "the bearer token is not the operator password")
    if operator.has_session():
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            try:
                validate_csrf(request.headers.get("X-CSRFToken"))
            except (ValidationError, CSRFError):
                raise ApiError(400, "the CSRF token is missing or expired: reload the page") from None
        return None
    raise ApiError(401, "operator only: send Authorization: Bearer <TWITTERSTREAM_ADMIN_PASSWORD>, or log in at /admin")


def _body() -> Any:
    body = request.get_json(silent=True)
    if body is None:
        raise ApiError(400, "the body must be JSON (Content-Type: application/json)")
    return body


def _wall(slug: str) -> Wall:
    wall = find_wall(slug)
    if wall is None:
        raise ApiError(404, f"no wall named {slug!r}")
    return wall


def _post_key(source: str, post_id: str) -> str:
    post_key = f"{source}:{post_id}"
    if get_store().get_post(post_key) is None:
        raise ApiError(404, f"no stored post {post_key!r}")
    return post_key


# -- the blocklist ------------------------------------------------------------------------------------
@bp.get("/blocklist")
def blocklist() -> Any:
    return jsonify(get_screen().blocklist().to_json())


@bp.put("/blocklist")
def put_blocklist() -> Any:
    try:
        new = Blocklist.from_json(_body())
    except BlocklistError as exc:
        raise ApiError(400, str(exc)) from None
    counts = get_moderator().set_blocklist(new, operator.client_address())
    return jsonify(**new.to_json(), **counts)


# -- one post everywhere --------------------------------------------------------------------------------
@bp.post("/posts/<source>/<path:post_id>/hide")
def hide(source: str, post_id: str) -> Any:
    key = _post_key(source, post_id)
    changed = get_moderator().hide(key, True, operator.client_address())
    return jsonify(post=key, hidden=True, changed=changed)


@bp.post("/posts/<source>/<path:post_id>/unhide")
def unhide(source: str, post_id: str) -> Any:
    key = _post_key(source, post_id)
    changed = get_moderator().hide(key, False, operator.client_address())
    return jsonify(post=key, hidden=False, changed=changed)


# -- walls ----------------------------------------------------------------------------------------------
@bp.get("/walls")
def walls() -> Any:
    return jsonify(walls=[Wall.from_record(r).to_json() for r in get_store().walls()])


@bp.put("/walls/<slug>")
def put_wall(slug: str) -> Any:
    sources = running_sources(this_app())  # a wall may use what any running source evaluates
    try:
        wall = Wall.from_json(slug, _body(), lambda text: read_query(text, sources))
    except WallError as exc:
        raise ApiError(400, exc.message, exc.position) from None
    created = get_moderator().put_wall(wall, operator.client_address())
    wake_ingester(this_app())
    return jsonify(wall.to_json()), 201 if created else 200


@bp.delete("/walls/<slug>")
def delete_wall(slug: str) -> Any:
    if not get_moderator().delete_wall(slug, operator.client_address()):
        raise ApiError(404, f"no wall named {slug!r}")
    wake_ingester(this_app())
    return jsonify(deleted=slug)


@bp.get("/walls/<slug>/queue")
def queue(slug: str) -> Any:
    wall = _wall(slug)
    posts = get_screen().queue(wall)
    return jsonify(wall=slug, approval=wall.approval, waiting=len(posts), posts=[p.to_json() for p in posts])


@bp.post("/walls/<slug>/posts/<source>/<path:post_id>/<any(approve, reject, pin, unpin):decision>")
def decide(slug: str, source: str, post_id: str, decision: str) -> Any:
    wall = _wall(slug)
    key = _post_key(source, post_id)
    assert decision in DECISIONS  # the route allows these only
    try:
        changed = get_moderator().decide(wall, key, decision, operator.client_address())
    except UnknownPost:
        raise ApiError(404, f"post {key!r} is not a match of the wall {slug!r}") from None
    return jsonify(wall=slug, post=key, decision=decision, changed=changed)


# -- the audit log ----------------------------------------------------------------------------------------
@bp.get("/audit")
def audit() -> Any:
    raw = request.args.get("limit")
    if raw is not None and (not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_AUDIT):
        raise ApiError(400, f"limit must be a whole number from 1 to {MAX_AUDIT} (got {raw[:20]!r})")
    return jsonify(entries=get_store().audit_log(int(raw) if raw is not None else 100))
