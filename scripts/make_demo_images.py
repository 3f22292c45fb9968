"""Write the bundled demo's pictures: an abstract SVG per photo and an initials avatar per person.

Run: python scripts/make_demo_images.py [OUTPUT_DIR]   (default: src/twitterstream/web/static/demo)

The demo capture (make_demo_data.py) points its media at ``/static/demo/<photo>.svg`` and its authors'
``profile_image_url`` at ``/static/demo/avatars/<username>.svg``; this script draws them, so that ``make demo``
shows pictures with no network. Deterministic: the same names always give the same bytes
(tests/unit/test_demo_images.py regenerates and compares). Colours and shapes only, drawn with presentation
attributes (no ``style``), each file a few hundred bytes.
"""

from __future__ import annotations

import hashlib
import random
import sys
from html import escape
from pathlib import Path

from demo_texts import PEOPLE, PHOTOS

DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "src" / "twitterstream" / "web" / "static" / "demo"

#: Pairs of colours for the sky and the ground of a picture, and the accents drawn over them.
PALETTES = [
    ("#ff9a62", "#6a3d9a", "#ffd166"),
    ("#8ecae6", "#219ebc", "#ffb703"),
    ("#f4acb7", "#9d8189", "#ffe5d9"),
    ("#2a9d8f", "#264653", "#e9c46a"),
    ("#ffbe0b", "#fb5607", "#ff006e"),
    ("#cdb4db", "#5e548e", "#ffc8dd"),
    ("#90be6d", "#277da1", "#f9c74f"),
    ("#3a86ff", "#14213d", "#fca311"),
]
AVATAR_COLOURS = ["#1463b3", "#137333", "#b3261e", "#6a3d9a", "#8a5a00", "#00696b", "#a0306e", "#3f51b5"]


def _rng(name: str) -> random.Random:
    return random.Random(int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big"))


def photo_svg(name: str, width: int, height: int) -> str:
    """An abstract landscape: a two-colour sky, a pale sun, rolling hills, a few floating bubbles."""
    rng = _rng(name)
    sky, ground, accent = rng.choice(PALETTES)
    shapes = [
        f'<rect width="{width}" height="{height}" fill="url(#sky)"/>',
        f'<circle cx="{rng.randint(width // 5, width * 4 // 5)}" cy="{rng.randint(height // 6, height // 2)}" '
        f'r="{min(width, height) // rng.randint(6, 10)}" fill="#ffffff" opacity="0.8"/>',
    ]
    for layer in range(3):
        top = height * (55 + layer * 12) // 100
        peak = top - rng.randint(height // 12, height // 5)
        bend, end = rng.randint(0, width), top + rng.randint(-height // 10, height // 10)
        shapes.append(
            f'<path d="M0 {top} Q{bend} {peak} {width} {end} V{height} H0Z" '
            f'fill="{ground}" opacity="{0.45 + layer * 0.25:.2f}"/>'
        )
    for _ in range(rng.randint(2, 4)):
        shapes.append(
            f'<circle cx="{rng.randint(0, width)}" cy="{rng.randint(0, height // 2)}" r="{rng.randint(6, 28)}" '
            f'fill="#ffffff" opacity="0.35"/>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
        f'<defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="{sky}"/>'
        f'<stop offset="1" stop-color="{accent}"/></linearGradient></defs>' + "".join(shapes) + "</svg>\n"
    )


def initials(name: str) -> str:
    """Up to two letters: the first of the first and of the last word."""
    words = [w for w in name.split() if w[:1].isalpha()]
    letters = (words[0][0] + (words[-1][0] if len(words) > 1 else "")) if words else "?"
    return letters.upper()


def avatar_svg(username: str, name: str) -> str:
    """A coloured disc with the person's initials."""
    colour = _rng(username).choice(AVATAR_COLOURS)
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="96" height="96" viewBox="0 0 96 96">'
        f'<circle cx="48" cy="48" r="48" fill="{colour}"/>'
        '<text x="48" y="48" dy="0.35em" text-anchor="middle" font-family="system-ui, sans-serif" '
        f'font-size="38" font-weight="700" fill="#ffffff">{escape(initials(name))}</text></svg>\n'
    )


def pictures() -> dict[str, str]:
    """Every file, by its path under the output folder."""
    files = {f"{name}.svg": photo_svg(name, width, height) for name, (_, width, height) in PHOTOS.items()}
    for handle, name, *_ in PEOPLE:
        files[f"avatars/{handle}_demo.svg"] = avatar_svg(f"{handle}_demo", name)
    return files


def main(argv: list[str]) -> None:
    output = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUTPUT
    for relative, text in pictures().items():
        path = output / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    print(f"wrote {len(pictures())} pictures to {output}")


if __name__ == "__main__":
    main(sys.argv)
