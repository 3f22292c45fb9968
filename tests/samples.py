"""The real captured payloads (a copy of ../shared/reference/samples, so CI on a lone clone has them)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SAMPLES = Path(__file__).parent / "data" / "samples"
X_OPENAPI = Path(__file__).parent / "data" / "x-openapi.json"
SHARED_REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"


def load(relative: str) -> Any:
    return json.loads((SAMPLES / relative).read_text())


def compact_line(relative: str) -> bytes:
    """The sample as one compact JSON line, the way the stream sends it."""
    return json.dumps(load(relative), ensure_ascii=False, separators=(",", ":")).encode()
