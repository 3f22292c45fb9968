"""Operations endpoints: liveness, readiness (with the source's state, in words) and metrics."""

from __future__ import annotations

import hmac
import ipaddress
import logging
import re
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, jsonify, request
from prometheus_client import CollectorRegistry

from twitterstream.metrics import IngesterCollector, WebCollector, render
from twitterstream.store import Store, StoreUnavailable
from twitterstream.web.context import (
    get_settings,
    ingester_health,
    source_counters,
    source_status,
    this_app,
    x_usage,
)

log = logging.getLogger(__name__)
bp = Blueprint("ops", __name__)

#: URLs and host:port pairs, in a store's error (every address in it is the store's).
_ADDRESS = re.compile(
    r"\b[a-z][a-z0-9+.-]*://\S+"  # redis://user:password@host:port/0
    r"|\[[0-9a-f:.]+\](?::\d+)?"  # [IPv6]:port
    r"|\b(?:[\w-]+\.)+[\w-]+:\d{1,5}\b"  # 10.0.0.5:6379, cache.example.com:6379
    r"|\b[a-z][\w-]*:\d{1,5}\b",  # redis:6379, localhost:6379
    re.IGNORECASE,
)
#: How ``context.source_status`` starts a reason about the store (the rest is the store's error: addresses).
STORE_SILENT = "the store does not answer"
HIDDEN = "(address hidden)"


def without_store_address(reason: str, store_url: str) -> str:
    """``reason`` without the store's URL, host, port or credentials (the log has the details).

    The source's own hosts stay: "Jetstream jetstream2.us-east.bsky.network" is what an operator wants to see.
    """
    if reason.startswith(STORE_SILENT):
        return STORE_SILENT
    return _without_store_url(reason, store_url)


def store_failure(error: StoreUnavailable, store_url: str) -> str:
    """What the store's error says, without any address or credentials in it."""
    return _without_store_url(_ADDRESS.sub(HIDDEN, str(error)), store_url)


def _without_store_url(reason: str, store_url: str) -> str:
    parts = urlsplit(store_url)
    port = f":{parts.port}" if parts.port else ""
    for word in (store_url, f"{parts.hostname}{port}", parts.password, parts.username, parts.hostname):
        if word and len(word) > 2:
            reason = reason.replace(word, HIDDEN)
    return reason


@bp.get("/healthz")
def healthz() -> Any:
    """200 while the process runs."""
    return jsonify(status="ok")


#: Ingester states that leave this process ready (``absent``: none started yet; pages say so).
READY_INGESTER_STATES = ("running", "standby", "absent")
#: Source states in which a source delivers (or is about to, or waits on purpose).
WORKING_SOURCE_STATES = ("connected", "idle", "starting", "standby")


def sources_verdict(sources: dict[str, dict[str, Any]]) -> str:
    """The sources as a whole: ``ok`` (every one works), ``degraded`` (some do not: the others go on),
    ``down`` (none works)."""
    working = [name for name, status in sources.items() if status.get("state") in WORKING_SOURCE_STATES]
    if len(working) == len(sources):
        return "ok"
    return "degraded" if working else "down"


@bp.get("/readyz")
def readyz() -> Any:
    """200 when the store answers and the ingester runs (503 otherwise); the body says what the store, the
    ingester and the sources are doing, in words (the store's failure is described, never quoted: no hosts):
    ``source`` the first source, ``sources`` each by name, ``verdict`` the sources as a whole (ok, degraded,
    down). One source down leaves the process ready: the others deliver and the stored posts are served."""
    app = this_app()
    store: Store = app.extensions["store"]
    try:
        store.ping()
    except StoreUnavailable as exc:
        log.warning("readiness: %s", exc)
        ingester = ingester_health(app) if "ingester" in app.extensions else {"state": "unknown", "heartbeat_age": None}
        store_words = f"unavailable: {store_failure(exc, get_settings().database_url)}"
        return jsonify(ready=False, store=store_words, source=None, sources={}, verdict="down", ingester=ingester), 503
    status = source_status(app)
    sources = status.pop("sources", {})
    for one in sources.values():
        one["reason"] = without_store_address(str(one.get("reason") or ""), get_settings().database_url)
    if "x" in sources:  # X's usage figures are kept with the totals (only X reports them)
        x_figures = x_usage({"source": "x", "counters": status.get("counters")})
        if x_figures is not None:
            sources["x"]["x_usage"] = x_figures
    usage = x_usage(status)
    status.pop("counters", None)
    status["reason"] = without_store_address(str(status.get("reason") or ""), get_settings().database_url)
    if usage is not None:
        status["x_usage"] = usage
    ingester = ingester_health(app)
    # Paused at X's post cap is still ready: the store answers and the stored posts are served.
    ready = ingester["state"] in READY_INGESTER_STATES
    verdict = sources_verdict(sources) if ingester["state"] in ("running", "standby") else "down"
    body = {"ready": ready, "store": "ok", "source": status, "sources": sources, "verdict": verdict}
    return jsonify(**body, ingester=ingester), 200 if ready else 503


@bp.get("/metrics")
def metrics() -> Any:
    """Prometheus text format: the ingester's counters (live, or its last snapshot) and this process's.

    Only for clients in ``TWITTERSTREAM_METRICS_ALLOW`` (403) bearing ``TWITTERSTREAM_METRICS_TOKEN`` when
    one is set (401).
    """
    refusal = _metrics_refusal()
    if refusal is not None:
        return refusal
    app = this_app()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(IngesterCollector(lambda: source_status(app).get("counters"), lambda: source_counters(app)))
    registry.register(WebCollector(app.extensions["hub"].open_streams))
    return Response(render(registry), mimetype="text/plain; version=0.0.4; charset=utf-8")


def _metrics_refusal() -> tuple[Response, int] | None:
    """Why this request may not read the metrics, as the answer to send; None when it may."""
    settings = get_settings()
    if not _address_allowed(request.remote_addr or "", settings.metrics_allow):
        message = "metrics are not served to this address (TWITTERSTREAM_METRICS_ALLOW)"
        return jsonify(error={"message": message, "position": None}), 403
    token = settings.metrics_token
    if token:
        offered = request.headers.get("Authorization", "")
        expected = f"Bearer {token.reveal()}"
        if not hmac.compare_digest(offered.encode("utf-8", "replace"), expected.encode("utf-8")):
            response = jsonify(error={"message": "metrics need the bearer token", "position": None})
            response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response, 401
    return None


def _address_allowed(address: str, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)
