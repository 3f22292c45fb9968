"""TwitterStream: a live search wall.

``create_app`` is the application factory. It imports Flask only when called, so that the command line
can switch to gevent (monkey-patching the standard library) before anything else is imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

__all__ = ["create_app"]


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the Flask app. ``test_config`` overrides settings (``SETTINGS``) and Flask config."""
    from twitterstream.web.app import build_app

    return build_app(test_config)
