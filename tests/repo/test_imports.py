"""The shape of ``lib``'s imports: no cycle anywhere (imports inside functions and package ``__init__``s
count), the HTTP layer never depends on a source adapter, and heavy SDKs stay on their own paths."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

LIB = Path(__file__).resolve().parents[2] / "lib"


def module_name(path: Path) -> str:
    parts = path.relative_to(LIB.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(LIB.rglob("*.py"))}


def imported(module: str, path: Path) -> Iterator[tuple[str, int, bool]]:
    """(name, line, top_level) for every import in the module, with each parent package of a dotted
    name (importing ``a.b.c`` runs ``a/__init__`` and ``a/b/__init__`` first)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        for name in names:
            parts = name.split(".")
            for end in range(1, len(parts) + 1):
                yield ".".join(parts[:end]), node.lineno, id(node) in top


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {m: set() for m in MODULES}
    for module, path in MODULES.items():
        for name, _, _ in imported(module, path):
            # a package's own submodules importing the package itself is no cycle (it is already running)
            if name in MODULES and name != module and not module.startswith(f"{name}."):
                edges[module].add(name)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(edges[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_walk_sees_function_level_imports() -> None:
    """The walker is not blind: it finds the import inside ``pipeline.dispatch``."""
    names = {name for name, _, top in imported("lib.pipeline", MODULES["lib.pipeline"]) if not top}
    assert "lib.queue.enqueue" in names


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_lib_has_no_import_cycle() -> None:
    assert cycles(graph()) == []


def test_the_http_layer_never_imports_a_source_adapter() -> None:
    for module, path in MODULES.items():
        if module == "lib.http" or module.startswith("lib.http."):
            adapters = {name for name, _, _ in imported(module, path) if name.startswith("lib.sources")}
            assert adapters == set(), f"{module} imports {sorted(adapters)}"


@pytest.mark.parametrize(("sdk", "home"), [("boto3", "lib.storage.s3"), ("qcloud_cos", "lib.storage.cos")])
def test_storage_sdks_are_imported_only_in_their_own_module(sdk: str, home: str) -> None:
    allowed = {home, "lib.queue.sqs"} if sdk == "boto3" else {home}  # the SQS client is boto3's too
    users = {m for m, p in MODULES.items() if any(n == sdk for n, _, _ in imported(m, p))}
    assert users <= allowed, users
    assert all(not top for m in users for n, _, top in imported(m, MODULES[m]) if n == sdk)
