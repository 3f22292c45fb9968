"""The bundled copy of the reference samples matches the shared reference, when it is beside the checkout."""

from __future__ import annotations

import pytest

from samples import SAMPLES, SHARED_REFERENCE, X_OPENAPI


@pytest.mark.skipif(not SHARED_REFERENCE.is_dir(), reason="no ../shared/reference beside this checkout")
def test_bundled_samples_equal_the_shared_reference() -> None:
    shared = SHARED_REFERENCE / "samples"
    for path in shared.rglob("*"):
        if path.is_file():
            assert (SAMPLES / path.relative_to(shared)).read_bytes() == path.read_bytes(), path
    assert X_OPENAPI.read_bytes() == (SHARED_REFERENCE / "x-openapi.json").read_bytes()
