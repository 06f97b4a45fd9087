"""The module map in ``lib/__init__.py`` names every module and package of ``lib``, and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

import lib

LIB = Path(lib.__file__).resolve().parent


def mapped_names(doc: str) -> list[str]:
    """The names in the map's first column: lines indented 4 spaces (6 for a continued list of names)."""
    columns = [
        re.split(r"\s{2,}", line.strip())[0] for line in doc.splitlines() if re.match(r" {4,6}[a-z]", line)
    ]
    return re.findall(r"[a-z_]+/?", " ".join(columns))


def test_the_module_map_names_every_module_once() -> None:
    top = {p.stem for p in LIB.glob("*.py") if p.stem != "__init__"}
    top |= {f"{p.name}/" for p in LIB.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert sorted(mapped_names(lib.__doc__ or "")) == sorted(top)


def test_the_readme_shows_the_same_map() -> None:
    readme = (LIB.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Where things are", 1)[1].split("\n## ", 1)[0]
    block = section.split("```", 2)[1]
    indented = "\n".join(f"    {line}" if line.strip() else line for line in block.splitlines())
    assert mapped_names(indented) == mapped_names(lib.__doc__ or "")
