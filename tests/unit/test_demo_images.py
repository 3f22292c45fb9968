"""The bundled demo pictures: one for every address the demo capture names, and what the script draws."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from twitterstream.config import DEMO_REPLAY_FILE

ROOT = Path(__file__).parents[2]
SCRIPT = ROOT / "scripts" / "make_demo_images.py"
STATIC = ROOT / "src" / "twitterstream" / "web" / "static"


def test_every_picture_the_demo_names_is_bundled() -> None:
    paths = set(re.findall(r'"(/static/demo/[^"]+)"', Path(DEMO_REPLAY_FILE).read_text()))
    assert len(paths) > 40  # the authors' avatars and the photos
    assert sorted(p for p in paths if not (STATIC / p.removeprefix("/static/")).is_file()) == []


def test_the_pictures_are_what_the_script_draws(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(SCRIPT), str(tmp_path)], check=True, timeout=60, capture_output=True)
    drawn = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.svg"))
    bundled = sorted(p.relative_to(STATIC / "demo") for p in (STATIC / "demo").rglob("*.svg"))
    assert drawn == bundled, "run scripts/make_demo_images.py"
    for relative in drawn:
        text = (tmp_path / relative).read_text()
        assert text == (STATIC / "demo" / relative).read_text(), f"{relative}: run scripts/make_demo_images.py"
        # sized (so a page knows its shape before it loads) and without style attributes or scripts
        assert re.match(r'<svg [^>]*width="\d+" height="\d+"', text)
        assert "style" not in text and "<script" not in text and len(text) < 2000
