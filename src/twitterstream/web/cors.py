"""Cross-origin reads of the public API: any site may read ``/api/v1/`` (results, stream, feed, export...).

Never the operator API under ``/api/v1/admin/``: a browser elsewhere must not be able to drive it.
"""

from __future__ import annotations

import re

from flask import Flask
from flask_cors import CORS

#: Every public API path; the negative look-ahead keeps the operator API out.
PUBLIC_API = re.compile(r"/api/v1/(?!admin(/|$))")


def init_cors(app: Flask) -> None:
    """Answer ``Access-Control-Allow-Origin: *`` (and preflights) on the public read-only API."""
    CORS(
        app,
        resources={PUBLIC_API: {"origins": "*"}},
        methods=["GET", "HEAD", "OPTIONS"],
        send_wildcard=True,
        expose_headers=["ETag", "Last-Modified", "Content-Disposition"],
        max_age=86400,
    )
