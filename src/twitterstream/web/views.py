"""The pages: the search form and the results wall."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from twitterstream.query import QueryError
from twitterstream.web.client_limits import client_address
from twitterstream.web.context import (
    PAGE_VIEW_HOLDER,
    get_limits,
    get_settings,
    get_store,
    public_url_for,
    query_coverage,
    query_problem,
    running_sources,
    source_label,
    this_app,
    wake_ingester,
)
from twitterstream.web.forms import SearchForm
from twitterstream.web.moderated import get_screen
from twitterstream.web.params import limit_choice
from twitterstream.web.queries import narrow_to_networks, read_query
from twitterstream.web.query_status import page_status
from twitterstream.web.screen_view import SCREEN_POSTS, render_screen, screen_options

bp = Blueprint("main", __name__)

#: The longest a first view of a new query waits for its first posts to be stored (seconds).
FIRST_FILL_WAIT = 0.5
#: The most of a refused query a page shows back (the form field's maxlength; queries stop at 1,024).
ECHO_LIMIT = 1100
#: Characters shown either side of the underlined error.
MARK_CONTEXT = 60


def _render_form(form: SearchForm, error: QueryError | None = None, status: int = 200) -> tuple[str, int]:
    text = (form.query.data or "")[:ECHO_LIMIT]
    form.query.data = text
    store = get_store()
    # a query watched only within its grace period (nobody has it open) is not "watched now"
    watched = [w for w in store.watched() if w.viewers > 0][:20]
    running = running_sources(this_app())
    # every network is checked until the person unchecks some (a form posted back keeps their choice)
    checked = set(form.networks.data or ()) if form.networks_shown.data else set(running)
    return (
        render_template(
            "index.html",
            form=form,
            error=error,
            error_marked=_mark_position(text, error.position) if error and error.position else None,
            watched=watched,
            paces={w.key: store.pace(w.key, 1)[0] for w in watched},
            networks=[(name, source_label(name), name in checked) for name in running] if len(running) > 1 else [],
        ),
        status,
    )


def _mark_position(text: str, position: int) -> dict[str, str]:
    """Split the query around the 1-based error position, to underline the bad character.

    At most ``MARK_CONTEXT`` characters either side: the form field above already holds the whole query.
    """
    index = max(min(position - 1, len(text)), 0)
    before, after = text[:index], text[index + 1 :]
    if len(before) > MARK_CONTEXT:
        before = "…" + before[-MARK_CONTEXT:]
    if len(after) > MARK_CONTEXT:
        after = after[:MARK_CONTEXT] + "…"
    return {"before": before, "at": text[index : index + 1] or " ", "after": after}


@bp.route("/", methods=["GET", "POST"])
def index() -> Any:
    """GET: the form. POST: 303 to the results page, or the form again with what is wrong."""
    form = SearchForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            return _render_form(form, QueryError("The form expired. Please search again.", None), 400)
        running = running_sources(this_app())
        try:
            typed = read_query(form.query.data, running)
            query = typed
            if form.networks_shown.data:  # the form had network boxes: watch on the checked ones
                query = narrow_to_networks(typed, form.networks.data or [], running, get_settings().max_query_length)
        except QueryError as exc:
            return _render_form(form, exc, 400)
        # narrowed, it goes by its canonical key (#nyc (source:x OR source:bluesky)); otherwise as typed
        target = form.query.data.strip() if query is typed else query.key
        return redirect(url_for("main.results", query=target), code=303)
    return _render_form(form)


#: The hint on the form after ``/results`` or ``/results/``, which is also what a browser asks for when
#: ``/results/#nyc`` is typed in its address bar (everything from ``#`` on stays in the browser).
NO_QUERY_HINT = (
    "Type a search term to see its results. Looking for a #hashtag? Type it in the form, "
    "or write # as %23 in the address (/results/%23nyc): the browser drops everything after a #."
)


@bp.get("/results")
@bp.get("/results/")
def results_without_query() -> Response:
    flash(NO_QUERY_HINT)
    return redirect(url_for("main.index"))


@bp.post("/results/<path:query>")
def results_form(query: str) -> Any:
    """As the original design: posting to a results page shows the form (with the query in it)."""
    form = SearchForm(formdata=None, query=query)
    return _render_form(form)


@bp.get("/results/<path:query>")
def results(query: str) -> Any:
    """The wall: the latest matches, newest first, then live updates (results.js); ``?view=screen``: the same
    for a big screen (screen.js)."""
    settings = get_settings()
    screen_mode = screen_options(request.args)  # 400 for a view or option that is not one
    try:
        parsed = read_query(query, running_sources(this_app()))
    except QueryError as exc:
        return _render_form(SearchForm(formdata=None, query=query), exc, 400)
    store = get_store()
    limit = SCREEN_POSTS if screen_mode else limit_choice(request.args.get("limit"))
    head = store.head_cursor(parsed.key)
    already_watched = get_limits().admit_query(parsed.key, client_address())  # 429 or 503 for a new one
    store.watch(parsed.key, parsed.text, PAGE_VIEW_HOLDER, 0, settings.watch_grace_seconds)
    wake_ingester(this_app())
    posts = get_screen().latest(parsed.key, limit)
    if not posts and head == "0" and not already_watched:
        # A query nobody is watching: give the ingester a moment to fill it from its recent window
        # (or the service's search), so that the first paint is a full page, not an empty state.
        # A query already watched had that chance: its empty page is the truth, shown at once.
        store.wait_for_events({parsed.key: head}, FIRST_FILL_WAIT)
        posts = get_screen().latest(parsed.key, limit)
    if screen_mode:
        return render_screen(
            options=screen_mode,
            query=parsed,
            title=parsed.key,
            page_url=public_url_for("main.results", query=parsed.text),
            stream_url=url_for("api.stream", q=parsed.text, limit=SCREEN_POSTS),
            pace_url=url_for("api.pace", q=parsed.text),
            posts=posts,
            status=page_status([parsed]),
        )
    since = store.watched_since(parsed.key)
    return render_template(
        "results.html",
        query=parsed,
        posts=posts,
        limit=limit,
        watch_since=since,
        problem=query_problem(this_app(), parsed.key),
        status=page_status([parsed]),
        **query_coverage(parsed, running_sources(this_app())),
    )
