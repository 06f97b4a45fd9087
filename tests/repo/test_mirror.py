"""Tests mirror modules: ``lib/<module>.py`` has ``tests/unit/test_<module>.py`` and
``lib/<package>/<module>.py`` has ``tests/unit/<package>/test_<module>.py`` (like
``tests/unit/http/test_api.py`` for ``lib/http/api.py``), for at least 90 % of lib's modules. A mirror test
names its module (an import of it, or its dotted name), so a file does not count for a module it never
touches. A test may still exercise several modules at once.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIB = ROOT / "lib"
UNIT = ROOT / "tests" / "unit"
MIN_SHARE = 0.9


def lib_modules() -> list[Path]:
    return sorted(p for p in LIB.rglob("*.py") if p.name != "__init__.py")


def mirror_of(module: Path) -> Path:
    *packages, name = module.relative_to(LIB).with_suffix("").parts
    return UNIT.joinpath(*packages, f"test_{name}.py")


def names_module(test_file: Path, module: Path) -> bool:
    """The test file imports the module or names it (``lib.a.b``, or ``from lib.a import b``)."""
    parts = module.relative_to(LIB).with_suffix("").parts
    dotted = ".".join(("lib", *parts))
    parent, name = ".".join(("lib", *parts[:-1])), parts[-1]
    text = test_file.read_text()
    return dotted in text or re.search(rf"from {re.escape(parent)} import [^\n]*\b{name}\b", text) is not None


def test_the_mirror_convention_is_followed_for_most_modules() -> None:
    modules = lib_modules()
    assert len(modules) > 40  # lib/ and its packages
    mirrored = [m for m in modules if mirror_of(m).exists()]
    unmirrored = [str(m.relative_to(ROOT)) for m in modules if m not in mirrored]
    assert len(mirrored) >= MIN_SHARE * len(modules), f"modules without a mirror test: {unmirrored}"


def test_each_mirror_test_names_its_module() -> None:
    strays = [
        str(mirror_of(m).relative_to(ROOT))
        for m in lib_modules()
        if mirror_of(m).exists() and not names_module(mirror_of(m), m)
    ]
    assert strays == [], f"mirror tests that never name their module: {strays}"
