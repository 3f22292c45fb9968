"""The operator's pages: /admin (log in, walls, blocklist), a wall's moderation page and the audit log page."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import PasswordField

from twitterstream.moderation import Wall
from twitterstream.web import operator
from twitterstream.web.context import get_store
from twitterstream.web.moderated import find_wall, get_moderator, get_screen

bp = Blueprint("admin", __name__, url_prefix="/admin")


class LoginForm(FlaskForm):
    """The operator's password (CSRF-protected)."""

    password = PasswordField("Password")


class LogoutForm(FlaskForm):
    """Only the CSRF token: logging out is a POST."""


def _login_page(form: LoginForm, error: str | None = None, status: int = 200) -> tuple[str, int]:
    return render_template("admin/login.html", form=form, error=error, enabled=operator.enabled()), status


@bp.get("")
def home() -> Any:
    """Logged in: the walls and the blocklist. Otherwise the login form (or why there is none)."""
    if not operator.has_session():
        return _login_page(LoginForm())
    walls = [Wall.from_record(r) for r in get_store().walls()]
    screen = get_screen()
    waiting = {w.slug: len(screen.queue(w)) for w in walls if w.approval}
    return render_template(
        "admin/home.html", walls=walls, waiting=waiting, blocklist=screen.blocklist(), logout=LogoutForm()
    )


@bp.post("/login")
def login() -> Any:
    form = LoginForm()
    if not operator.enabled():
        return _login_page(form, status=403)
    client = operator.client_address()
    limiter = operator.failed_logins()
    wait = limiter.retry_after(client)
    if wait:
        page, _ = _login_page(form, f"Too many failed attempts. Try again in {wait} seconds.")
        return page, 429, {"Retry-After": str(wait)}
    if not form.validate_on_submit():
        return _login_page(form, "The form expired. Please try again.", 400)
    if not operator.password_matches(form.password.data or ""):
        limiter.failed(client)
        get_moderator().audit("login_failed", client, via="form")
        return _login_page(LoginForm(formdata=None), "That is not the operator password.", 401)
    limiter.succeeded(client)
    operator.log_in()
    return redirect(url_for("admin.home"), code=303)


@bp.post("/logout")
def logout() -> Response:
    if LogoutForm().validate_on_submit():
        operator.log_out()
    return redirect(url_for("admin.home"), code=303)


def _operator_only() -> None:
    if not operator.has_session():
        abort(redirect(url_for("admin.home"), code=303))


@bp.get("/audit")
def audit() -> Any:
    _operator_only()
    entries = [
        {"entry": e, "details": json.dumps({k: v for k, v in e.items() if k not in ("at", "action", "client")})}
        for e in get_store().audit_log(200)
    ]
    return render_template("admin/audit.html", entries=entries, logout=LogoutForm())


@bp.get("/walls/<slug>")
def moderate(slug: str) -> Any:
    """A wall's moderation page: its queue (keyboard first, moderate.js) beside the live wall."""
    _operator_only()
    wall = find_wall(slug)
    if wall is None:
        abort(404, description=f"no wall named {slug!r}")
    waiting = get_screen().queue(wall)
    api_url = url_for("admin_api.blocklist").rsplit("/", 1)[0]  # the operator API's root, /api/v1/admin
    return render_template("admin/wall.html", wall=wall, waiting=waiting, api_url=api_url, logout=LogoutForm())
