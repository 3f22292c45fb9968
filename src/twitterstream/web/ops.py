"""Operations endpoints: liveness, readiness (with the source's state, in words) and metrics."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify
from prometheus_client import CollectorRegistry

from twitterstream.metrics import IngesterCollector, WebCollector, render
from twitterstream.store import Store, StoreUnavailable
from twitterstream.web.context import ingester_health, source_status, this_app

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz() -> Any:
    """200 while the process runs."""
    return jsonify(status="ok")


#: Ingester states that leave this process ready (``absent``: none started yet; pages say so).
READY_INGESTER_STATES = ("running", "standby", "absent")


@bp.get("/readyz")
def readyz() -> Any:
    """200 when the store answers and the ingester runs (503 otherwise); the body says what the store, the
    ingester and the source are doing, in words (the store's failure is described, never quoted: no hosts)."""
    app = this_app()
    store: Store = app.extensions["store"]
    try:
        store.ping()
    except StoreUnavailable as exc:
        ingester = ingester_health(app) if "ingester" in app.extensions else {"state": "unknown", "heartbeat_age": None}
        return jsonify(ready=False, store=f"unavailable: {exc}", source=None, ingester=ingester), 503
    status = source_status(app)
    status.pop("counters", None)
    ingester = ingester_health(app)
    ready = ingester["state"] in READY_INGESTER_STATES
    return jsonify(ready=ready, store="ok", source=status, ingester=ingester), 200 if ready else 503


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus text format: the ingester's counters (live, or its last snapshot) and this process's."""
    app = this_app()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(IngesterCollector(lambda: source_status(app).get("counters")))
    registry.register(WebCollector(app.extensions["hub"].open_streams))
    return Response(render(registry), mimetype="text/plain; version=0.0.4; charset=utf-8")
