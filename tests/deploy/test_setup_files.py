"""The set-up files: the lock files and what installs from them, and .env.example against the settings.

pyproject.toml keeps ranges; requirements/dev.txt and requirements/runtime.txt (`make lock`) pin every
package with its hashes. The venv (Makefile), CI (buildspec.yml) and the image (Dockerfile) install from them.
"""

from __future__ import annotations

import io
import re
import tomllib
from dataclasses import fields
from pathlib import Path
from typing import NamedTuple

import pytest
import yaml
from dotenv import dotenv_values
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from twitterstream.config import load_settings

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = ROOT / "pyproject.toml"
DEV_LOCK = ROOT / "requirements" / "dev.txt"
RUNTIME_LOCK = ROOT / "requirements" / "runtime.txt"
ENV_EXAMPLE = ROOT / ".env.example"
README = ROOT / "README.md"


class Pin(NamedTuple):
    version: str
    marker: str  # "" or the environment marker (a universal lock may pin two versions, one per Python range)
    hashes: tuple[str, ...]


def read_lock(path: Path) -> dict[str, list[Pin]]:
    """{canonical name: its pins} of a pip requirements file written with --generate-hashes."""
    text = re.sub(r"\s*\\\n\s*", " ", path.read_text())  # join continuation lines
    pins: dict[str, list[Pin]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"([A-Za-z0-9_.\-]+)==([^\s;]+)\s*(?:;\s*(.*?))?\s*(?:--hash|$)", line)
        assert match, f"{path.name}: not a pinned requirement: {line[:80]}"
        hashes = tuple(re.findall(r"--hash=sha256:([0-9a-f]{64})", line))
        pins.setdefault(canonicalize_name(match.group(1)), []).append(Pin(match.group(2), match.group(3) or "", hashes))
    return pins


def declared(group: str) -> list[Requirement]:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    names = project["dependencies"] if group == "runtime" else project["optional-dependencies"][group]
    return [Requirement(spec) for spec in names]


# ---- the lock files ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("lock", [DEV_LOCK, RUNTIME_LOCK], ids=["dev", "runtime"])
def test_every_pin_carries_its_hashes(lock: Path) -> None:
    pins = read_lock(lock)
    assert pins, f"{lock.name} pins nothing"
    unhashed = sorted(name for name, entries in pins.items() for pin in entries if not pin.hashes)
    assert not unhashed, f"{lock.name}: pins without --hash (run `make lock`): {unhashed}"


@pytest.mark.parametrize(
    ("lock", "groups"), [(DEV_LOCK, ["runtime", "dev"]), (RUNTIME_LOCK, ["runtime"])], ids=["dev", "runtime"]
)
def test_the_lock_pins_every_declared_dependency_within_its_range(lock: Path, groups: list[str]) -> None:
    """A dependency added to or raised in pyproject.toml without `make lock` is caught here."""
    pins = read_lock(lock)
    for group in groups:
        for requirement in declared(group):
            name = canonicalize_name(requirement.name)
            assert name in pins, f"{lock.name} does not pin {name} ({group}): run `make lock`"
            for pin in pins[name]:
                assert requirement.specifier.contains(pin.version, prereleases=True), (
                    f"{lock.name} pins {name}=={pin.version}, outside pyproject.toml's {requirement}: run `make lock`"
                )


def test_the_image_gets_the_versions_the_tests_ran_with() -> None:
    dev, runtime = read_lock(DEV_LOCK), read_lock(RUNTIME_LOCK)
    versions = {name: {pin.version for pin in pins} for name, pins in dev.items()}
    different = {
        name: (sorted(pin.version for pin in pins), sorted(versions.get(name, ())))
        for name, pins in runtime.items()
        if not {pin.version for pin in pins} <= versions.get(name, set())
    }
    assert not different, f"runtime.txt pins differ from dev.txt (runtime, dev): {different}; run `make lock`"
    # gunicorn's gevent worker imports packaging, declared only under gunicorn's `gevent` extra.
    assert "packaging" in runtime and "gevent" in runtime


def test_the_image_installs_the_runtime_lock_with_hashes_and_nothing_else() -> None:
    text = (ROOT / "Dockerfile").read_text()
    builder, runtime = text[: text.rindex("\nFROM ")], text[text.rindex("\nFROM ") :]
    assert re.search(r"--require-hashes[^\n]*-r requirements/runtime\.txt", builder), "builder: wheels of the lock"
    assert re.search(r"pip wheel [^\n]*--no-deps[^\n]* \.$", builder, re.MULTILINE), "the project alone, no deps"
    install = re.search(r"pip install ([^\n]*)", runtime)
    assert install and "--no-index" in install.group(1) and "--no-deps" in install.group(1), (
        "the image installs the builder's wheels only, resolving and fetching nothing"
    )


def test_ci_installs_the_dev_lock_with_hashes_then_the_project_without_dependencies() -> None:
    commands = yaml.safe_load((ROOT / "buildspec.yml").read_text())["phases"]["install"]["commands"]
    installs = [command for command in commands if " pip install " in f" {command} " and "--upgrade pip" not in command]
    assert len(installs) == 2, installs
    assert "--require-hashes" in installs[0] and "-r requirements/dev.txt" in installs[0]
    assert "--no-deps" in installs[1] and installs[1].rstrip().endswith("-e .")


# ---- .env.example -----------------------------------------------------------------------------------------


def example_settings() -> dict[str, str]:
    """The settings .env.example lists (``#NAME=value`` lines), as a .env would give them once uncommented."""
    lines = [line[1:] for line in ENV_EXAMPLE.read_text().splitlines() if re.match(r"#[A-Z][A-Z0-9_]*=", line)]
    values = dotenv_values(stream=io.StringIO("\n".join(lines)))
    return {name: value or "" for name, value in values.items()}


def readme_settings() -> set[str]:
    """The names in the first column of the README's settings table (aliases left out)."""
    section = README.read_text().split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for row in re.findall(r"^\| (`[^|]*) \|", section, re.MULTILINE):
        names.update(re.findall(r"`([A-Z][A-Z0-9_]*)`", re.sub(r"\(alias [^)]*\)", "", row)))
    return names


def test_env_example_lists_every_setting_of_the_readme_and_no_other() -> None:
    listed, documented = set(example_settings()), readme_settings()
    assert documented, "no settings table found in README.md"
    assert listed == documented, (
        f"only in the README: {sorted(documented - listed)}; only in .env.example: {sorted(listed - documented)}"
    )


def test_env_example_shows_the_real_defaults() -> None:
    """Uncommenting every line of .env.example changes nothing: each value shown is the default."""
    shown, default = load_settings(environ=example_settings(), env_file=None), load_settings(environ={}, env_file=None)
    different = {
        f.name: getattr(shown, f.name) for f in fields(shown) if getattr(shown, f.name) != getattr(default, f.name)
    }
    assert not different, f".env.example shows values that are not the defaults: {different}"


def test_env_example_has_one_comment_line_above_each_setting() -> None:
    lines = ENV_EXAMPLE.read_text().splitlines()
    for i, line in enumerate(lines):
        if re.match(r"#[A-Z][A-Z0-9_]*=", line):
            assert i > 0 and lines[i - 1].startswith("# ") and len(lines[i - 1]) > 8, f"{line}: no comment above"
