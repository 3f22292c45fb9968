"""What every blueprint reads: the settings, the store, the live hub, the source's status, the ingester.

Blueprints import this module, never the factory (``app.py``), and this module imports no blueprint, no
source and no ingester: what the ingester says comes through the store (``twitterstream.store.state``), or,
under ``twitterstream serve``, from the ingester object the command line put in ``app.extensions``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app, url_for

from twitterstream.config import Settings
from twitterstream.query import Query
from twitterstream.query.capabilities import SOURCE_LABELS, unsupported_on
from twitterstream.query.networks import covers
from twitterstream.status import SourceState
from twitterstream.store import Store, StoreUnavailable
from twitterstream.store.state import INGESTER_SILENCE, INGESTER_STATE, QUERY_PROBLEMS, IngesterState

if TYPE_CHECKING:
    from twitterstream.web.client_limits import ClientLimits
    from twitterstream.web.live import LiveHub

#: The holder name under which page views renew a query's lease (SSE streams renew per process).
PAGE_VIEW_HOLDER = "page-views"

NO_INGESTER = "no ingester is running: start `twitterstream ingest` (or use `twitterstream serve`)"
INGESTER_STOPPED = "the ingester has stopped: start `twitterstream ingest` again (or use `twitterstream serve`)"


def this_app() -> Flask:
    """The app of the current request (the real object, for callbacks that outlive the request)."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    return app


def public_url_for(endpoint: str, **values: Any) -> str:
    """The absolute address of a route, at ``TWITTERSTREAM_PUBLIC_URL`` when set, else as this request reached
    us: what goes where the address must work for someone else (feeds, embed snippets, QR codes)."""
    public = get_settings().public_url
    if public:
        return public + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


def get_settings() -> Settings:
    settings: Settings = current_app.config["SETTINGS"]
    return settings


def get_store() -> Store:
    store: Store = current_app.extensions["store"]
    return store


def get_hub() -> LiveHub:
    hub: LiveHub = current_app.extensions["hub"]
    return hub


def get_limits() -> ClientLimits:
    limits: ClientLimits = current_app.extensions["client_limits"]
    return limits


def ingester_state(app: Flask) -> IngesterState | None:
    """What the active ingester last published (None: no ingester ever did)."""
    ingester = app.extensions.get("ingester")
    if ingester is not None:  # in this process (``serve``): read it live
        state: IngesterState = ingester.snapshot()
        return state
    raw = app.extensions["store"].get_state(INGESTER_STATE)
    return IngesterState.from_json(raw) if raw else None


def ingester_health(app: Flask) -> dict[str, Any]:
    """Whether an ingester really runs, for /readyz: ``{"state", "heartbeat_age"}``.

    ``state`` is ``running`` or ``standby`` (fine), ``absent`` (none has published yet: fine, pages say so),
    ``stopped`` (its thread ended, or it said it stopped), ``silent`` (its heartbeat is older than
    ``INGESTER_SILENCE``: it hangs or died without a word), or ``unknown`` (the store does not answer).
    In this process (``serve``, ``ingest``) the thread itself is asked; elsewhere its published heartbeat.
    """
    ingester = app.extensions.get("ingester")
    try:
        state = ingester_state(app)
    except StoreUnavailable:
        return {"state": "unknown", "heartbeat_age": None}
    if state is None:
        return {"state": "absent", "heartbeat_age": None}
    age = max(time.time() - state.heartbeat, 0.0)
    if state.stopped or (ingester is not None and not ingester.alive):
        verdict = "stopped"
    elif age > INGESTER_SILENCE:
        verdict = "silent"
    else:
        verdict = "standby" if state.status.get("state") == "standby" else "running"
    return {"state": verdict, "heartbeat_age": round(age, 1)}


def running_source(app: Flask) -> str:
    """The source the ingester runs (what it published), else the one this process was configured with."""
    try:
        state = ingester_state(app)
    except StoreUnavailable:
        state = None
    if state is not None and state.status.get("source"):
        return str(state.status["source"])
    settings: Settings = app.config["SETTINGS"]
    return settings.source


def running_sources(app: Flask) -> tuple[str, ...]:
    """Every source the ingester runs (what it published), else the ones this process was configured with."""
    try:
        state = ingester_state(app)
    except StoreUnavailable:
        state = None
    if state is not None and state.sources:
        return tuple(state.sources)
    if state is not None and state.status.get("source"):  # an ingester that publishes one source
        return (str(state.status["source"]),)
    settings: Settings = app.config["SETTINGS"]
    return settings.source_names


def source_status(app: Flask) -> dict[str, Any]:
    """What the ingester says about the source, in words (for pages, SSE and /readyz).

    Always the keys of ``SourceStatus`` (source, state, reason, retry_at, warning, since) of the first source,
    plus ``counters``, ``ingester``, in the words of :func:`ingester_health` (``running``, ``standby``,
    ``absent``, ``stopped``, ``silent``, ``unknown``), so that pages blame a missing ingester, not the service,
    and ``sources``: each source's ``SourceStatus`` keys by name (without counters: see
    :func:`source_counters`).
    """
    settings: Settings = app.config["SETTINGS"]
    sources: dict[str, dict[str, Any]] = {}
    try:
        state = ingester_state(app)
    except StoreUnavailable as exc:
        reason = f"the store does not answer: {exc}"
        status: dict[str, Any] = {"source": settings.source, "state": "unknown", "reason": reason}
        ingester = "unknown"
    else:
        if state is None:
            status = {"source": settings.source, "state": SourceState.STOPPED, "reason": NO_INGESTER}
            ingester = "absent"
        elif not state.is_alive():
            reason = INGESTER_STOPPED if state.stopped else NO_INGESTER
            status = {
                "source": state.status.get("source", settings.source),
                "state": SourceState.STOPPED,
                "reason": reason,
            }
            ingester = "stopped" if state.stopped else "silent"
        else:
            status = dict(state.status)
            status["counters"] = state.counters
            ingester = "standby" if state.status.get("state") == "standby" else "running"
            if state.sources:
                sources = {name: _status_words(one) for name, one in state.sources.items()}
    if not sources:  # no live ingester (or one of an older version): every source shares its words
        sources = {name: {**_status_words(status), "source": name} for name in running_sources(app)}
    return {
        "source": status.get("source"),
        "state": status.get("state"),
        "reason": status.get("reason", ""),
        "retry_at": status.get("retry_at"),
        "warning": status.get("warning", ""),
        "since": status.get("since"),
        "counters": status.get("counters", {}),
        "ingester": ingester,
        "sources": sources,
    }


def _status_words(status: dict[str, Any]) -> dict[str, Any]:
    """The ``SourceStatus`` keys of one published status."""
    keys = ("source", "state", "reason", "retry_at", "warning", "since")
    return {key: status.get(key, "" if key in ("reason", "warning") else None) for key in keys}


def source_counters(app: Flask) -> dict[str, dict[str, float]]:
    """Each running source's own counters (``posts_received``, ``source_reconnects``...), for /metrics."""
    try:
        state = ingester_state(app)
    except StoreUnavailable:
        return {}
    if state is None or not state.is_alive():
        return {}
    return {name: dict(one.get("counters") or {}) for name, one in state.sources.items()}


def query_coverage(query: Query, sources: tuple[str, ...]) -> dict[str, Any]:
    """Which of the running ``sources`` a query runs on, for the results page: ``networks``, the labels of
    those that can evaluate it ("X", "Bluesky"); ``uncovered``, (label, operators it lacks) of the others;
    ``left_out``, the labels of those its ``source:`` filter leaves out."""
    networks: list[str] = []
    uncovered: list[tuple[str, list[str]]] = []
    left_out: list[str] = []
    for name in sources:
        lacking = unsupported_on(query, name)
        if not covers(query, name):
            left_out.append(source_label(name))
        elif lacking:
            uncovered.append((source_label(name), lacking))
        else:
            networks.append(source_label(name))
    return {"networks": networks, "uncovered": uncovered, "left_out": left_out}


def x_usage(status: dict[str, Any]) -> dict[str, Any] | None:
    """The month's reads from X, against the cap, and their estimated cost (None unless X is a source)."""
    counters = status.get("counters") or {}
    runs_x = status.get("source") == "x" or "x" in (status.get("sources") or {})
    if not runs_x or "x_posts_read" not in counters:
        return None
    return {
        "posts_read": int(counters.get("x_posts_read", 0)),
        "post_cap": int(counters.get("x_post_cap", 0)) or None,
        "estimated_spend_usd": round(float(counters.get("x_estimated_spend_usd", 0.0)), 2),
    }


def source_label(name: str) -> str:
    """A source's name as people write it ("Bluesky", "X")."""
    return SOURCE_LABELS.get(name, name)


def unsupported_reason(query: Query, source: str) -> str | None:
    """Why ``source`` cannot evaluate ``query`` (operators it lacks), or None when it can."""
    unsupported = unsupported_on(query, source)
    if not unsupported:
        return None
    return (
        f"{', '.join(unsupported)} cannot be evaluated on {source} posts: "
        f"remove {'it' if len(unsupported) == 1 else 'them'} or use the X source"
    )


def query_problem(app: Flask, query_key: str) -> str | None:
    """Why the source cannot serve a query (X rejected it, the rule limit is reached...), if it cannot."""
    try:
        problems = app.extensions["store"].get_state(QUERY_PROBLEMS) or {}
    except StoreUnavailable:
        return None
    problem = problems.get(query_key)
    return str(problem) if problem is not None else None


def wake_ingester(app: Flask) -> None:
    """Tell an ingester in this process to look at the watched queries now (a page asked for a new one)."""
    ingester = app.extensions.get("ingester")
    if ingester is not None:
        ingester.wake()
