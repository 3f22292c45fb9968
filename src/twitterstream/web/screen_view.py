"""The screen view (``?view=screen``): a results page or a wall drawn for a big screen in a room.

No page chrome and no form: the title, the live pace, a QR code of the normal page (for the audience's
phones), and as many posts as fill the screen (static/screen.js lays them out). Its options are read here,
strictly: a value that is not one of the choices is a 400 that names the parameter and the choices.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import segno
from flask import render_template
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest

from twitterstream.models import Post

#: The most posts a screen keeps in its page (the server's first paint, the stream's backlog and the browser's
#: bound alike): enough to fill an ultra-wide screen at the smallest type; older ones leave as new ones come.
SCREEN_POSTS = 40
THEMES = ("light", "dark", "contrast")
#: The screen's own parameters: meaningless without ``view=screen``, so refused there rather than ignored.
SCREEN_PARAMS = ("theme", "stats")


@dataclass(frozen=True)
class ScreenOptions:
    """What ``?view=screen&theme=...&stats=...`` asked for."""

    #: ``light``, ``dark`` or ``contrast``; None: the device's own colour scheme.
    theme: str | None = None
    #: Show the stats strip (queries only: a wall's audience sees only what its operator lets through).
    stats: bool = False


def _shown(raw: str) -> str:
    return repr(raw if len(raw) <= 20 else raw[:20] + "…")


def screen_options(args: MultiDict[str, str], *, wall: bool = False) -> ScreenOptions | None:
    """The screen view's options when ``view=screen``; None for the normal page; a 400 for anything else."""
    view = args.get("view")
    if view is None:
        given = [name for name in SCREEN_PARAMS if name in args]
        if given:
            raise BadRequest(f"{given[0]} applies to the screen view only: add view=screen to the address")
        return None
    if view != "screen":
        raise BadRequest(f"view must be screen (the wall for a big screen), or left out (got {_shown(view)})")
    theme = args.get("theme")
    if theme is not None and theme not in THEMES:
        choices = ", ".join(THEMES)
        raise BadRequest(f"theme must be one of {choices}, or left out to follow the device (got {_shown(theme)})")
    stats = args.get("stats")
    if stats is not None and stats not in ("0", "1"):
        raise BadRequest(f"stats must be 1 (show the stats strip) or 0 (got {_shown(stats)})")
    if stats == "1" and wall:
        raise BadRequest(
            "stats=1 is for the screen of a search: a wall shows no stats (they would count posts its operator "
            "has not let through)"
        )
    return ScreenOptions(theme=theme, stats=stats == "1")


@lru_cache(maxsize=256)
def qr_svg(address: str) -> Markup | None:
    """``address`` as a QR code: inline SVG with no style attribute (the CSP allows none), dark on a light
    quiet zone whatever the theme (what phone cameras read best). None when too long for any QR code."""
    try:
        code = segno.make(address, error="m", micro=False)
    except segno.DataOverflowError:
        return None
    # segno draws with presentation attributes (fill, stroke), which a CSP without 'unsafe-inline' allows
    svg = code.svg_inline(
        scale=1, border=4, dark="#000", light="#fff", svgclass="qr-code", lineclass=None, omitsize=True
    )
    return Markup(svg.replace("<svg ", '<svg aria-hidden="true" focusable="false" ', 1))


def render_screen(
    *,
    options: ScreenOptions,
    title: str,
    page_url: str,
    stream_url: str,
    posts: list[Post],
    pace_url: str | None = None,
    pinned: set[str] | None = None,
    **context: Any,
) -> str:
    """The screen view of a search (``pace_url`` set: the store's pace) or of a wall (pace counted by the page)."""
    return render_template(
        "screen.html",
        options=options,
        title=title,
        page_url=page_url,
        qr=qr_svg(page_url),
        stream_url=stream_url,
        pace_url=pace_url,
        posts=posts,
        pinned=pinned or set(),
        screen_posts=SCREEN_POSTS,
        embeds="card",  # a screen draws every post itself: no third-party embed, whatever TWITTERSTREAM_EMBEDS says
        **context,
    )
