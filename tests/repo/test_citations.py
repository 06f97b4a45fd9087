"""Every reference in the repository can be followed with only a clone: code, tests and docs cite
``docs/<file>.md §N`` (a numbered section of a document in docs/), never a section of a document kept
elsewhere ("design section N", "reference §N")."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUTSIDE = re.compile(r"\b(design|reference)\s+(§|sections?\s+)\s*\d", re.IGNORECASE)
CITATION = re.compile(r"docs/([\w-]+\.md) §(\d+(?:\.\d+)?)")
TEXT = (".py", ".md", ".yml", ".yaml", ".toml", ".txt", ".cfg", ".ini", ".json")


def tracked_text_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    return [ROOT / name for name in listed.stdout.split() if name.endswith(TEXT) and (ROOT / name).is_file()]


def sections(doc: Path) -> set[str]:
    """The numbers of a document's numbered headings (``## 3. …``, ``### 1.2 …``)."""
    return set(re.findall(r"^#{2,4} (\d+(?:\.\d+)?)\.? ", doc.read_text(), re.MULTILINE))


def test_no_citation_of_a_document_outside_the_repository() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in tracked_text_files()
        if path != Path(__file__).resolve()  # its own examples below
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if OUTSIDE.search(line) and "docs/" not in line
    ]
    assert found == []


def test_every_docs_citation_names_a_section_that_exists() -> None:
    files = tracked_text_files()
    cited = {(m[1], m[2]) for path in files for m in CITATION.finditer(path.read_text(errors="replace"))}
    assert len(cited) >= 10  # the code does cite docs/
    missing = [
        f"docs/{doc} §{number}"
        for doc, number in sorted(cited)
        if not (ROOT / "docs" / doc).is_file() or number not in sections(ROOT / "docs" / doc)
    ]
    assert missing == []


def test_the_check_catches_an_outside_citation() -> None:
    assert OUTSIDE.search("the folder layout of design section 5")
    assert OUTSIDE.search("payload format 2.0 (reference §1.5)")
    assert OUTSIDE.search("reference sections 8 and 9")
    assert not OUTSIDE.search("the folder layout of docs/contracts.md §3")


DOC_NAME = re.compile(r"(?<![\w./-])docs/([\w-]+\.md)\b")


def test_every_named_document_in_docs_exists() -> None:
    """A mention of ``docs/<file>.md`` without a section still has to lead somewhere."""
    named = {
        (str(path.relative_to(ROOT)), m[1])
        for path in tracked_text_files()
        if path != Path(__file__).resolve()  # its own examples below
        for m in DOC_NAME.finditer(path.read_text(errors="replace"))
    }
    assert len(named) >= 10
    missing = sorted((where, doc) for where, doc in named if not (ROOT / "docs" / doc).is_file())
    assert missing == []


def test_the_name_check_catches_a_missing_document() -> None:
    assert DOC_NAME.findall("(docs/http-api.md)") == ["http-api.md"]
    assert DOC_NAME.findall("see mydocs/x.md and docs/contracts.md §3") == ["contracts.md"]
