"""Tests inject fakes; they do not write lib's globals (docs/internals.md, "Services, the one container").

Every ``monkeypatch.setattr``/``delattr``, ``mock.patch``/``patch.object``/``patch.dict`` and plain
assignment to an imported module's attribute in ``tests/`` is found, and its target classified by what its
first argument names, through the file's imports:

- ``stdlib``: the standard library (``socket.getaddrinfo``, ``time.sleep``): OS and network fault
  injection, allowed;
- ``tests``: the tests' own helpers, allowed;
- ``lib``: ``lib`` or ``handler`` (a string ``"lib.x.y"``, or a name imported from them): refused;
- ``devstack``, ``third-party``, or ``local`` (a fixture or variable the scan cannot resolve): refused.

A refused patch may stay only in ``ALLOWED`` below, keyed by file and target, with the one-line reason it
cannot be injected. An entry that no longer matches a patch fails too, so the list only shrinks.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

TESTS = Path(__file__).resolve().parents[1]
PATCHERS = {"setattr", "delattr", "patch", "object", "dict"}  # monkeypatch.*, mock.patch(.object/.dict)

# the platform calls main_handler(event, context) and nothing else: an end-to-end run has no way in
HANDLER = "through handler.main_handler, which builds its own Services from the platform's (event, context): "

COLD = "a cold start: which modules this process has loaded, and a test process cannot unload them: "

# (file under tests/, target) → why it is not injected instead
ALLOWED: dict[tuple[str, str], str] = {
    # devstack's stand-ins, driven into states their protocols allow but a client cannot cause
    ("devstack/test_cos_standin.py", "stack.cos.clock"): "devstack-internal: the stand-in's clock, to expire "
    "a signature",
    ("devstack/test_local_scf.py", "stack.vod.fetch_media"): "devstack-internal: the emulator skips media "
    "downloads for a burst",
    ("e2e/test_burst.py", "stack.vod.fetch_media"): "devstack-internal: the emulator skips media downloads",
    ("e2e/test_burst_async.py", "stack.vod.fetch_media"): "devstack-internal: the emulator skips media "
    "downloads",
    ("e2e/test_cmq.py", "stack.vod.fetch_media"): "devstack-internal: the emulator skips media downloads",
    ("e2e/test_queues.py", "stack.vod.fetch_media"): "devstack-internal: the emulator skips media downloads",
    ("e2e/faults/conftest.py", "stack.vod.cos_endpoint"): "devstack-internal: the emulator fetches media "
    "through the faulty storage proxy",
    ("devstack/test_stack.py", "LocalStack._start_s3"): "devstack-internal: the stack's start order, without "
    "starting servers",
    ("devstack/test_stack.py", "LocalStack._start_cos"): "devstack-internal: the stack's start order, "
    "without starting servers",
    ("devstack/test_webhook_receiver.py", "WebhookReceiver.start"): "devstack-internal: the receiver's "
    "command line, without a server",
    ("devstack/test_webhook_receiver.py", "devstack.emulators.webhook._wait_forever"): "devstack-internal: "
    "the command line returns instead of serving forever",
    # third-party objects: the SDKs' own clocks and clients, faulted as the wire cannot fault them
    (
        "devstack/test_vod_emulator.py",
        "abstract_client.time",
    ): "third-party: the Tencent SDK's clock, to sign a request the emulator must find stale",
    ("unit/storage/test_s3.py", "client.head_object"): "third-party: a boto3 client's call, faulted with an "
    "error moto cannot raise",
    # the whole suite: one process-wide scale, not a fake
    ("conftest.py", "lib.invocation._rng"): "every test's back-off jitter at a tenth (the retry logic "
    "itself unchanged): with_retries is called from a dozen modules and handler runs; no constructor "
    "reaches all",
    (
        "e2e/faults/conftest.py",
        "lib.invocation._rng",
    ): "the fault suite's handler runs, back-off at a tenth, as tests/conftest.py does for every test",
    # end to end through the entry point: the platform calls main_handler(event, context), nothing else
    (
        "e2e/faults/conftest.py",
        "lib.submission.WAIT_FOR_WINNER_S",
    ): HANDLER + "the wait for a winner's TaskId, shortened for every fault scenario",
    (
        "e2e/faults/test_vod_faults.py",
        "submission.WAIT_FOR_WINNER_S",
    ): HANDLER + "the wait for a winner's TaskId, shortened for the crash scenario",
    (
        "e2e/test_trust.py",
        "lib.submission.WAIT_FOR_WINNER_S",
    ): HANDLER + "the wait for a winner's TaskId, shortened behind the storage proxy",
    (
        "e2e/test_queues.py",
        "submission.WAIT_FOR_HOLDER_S",
    ): HANDLER + "the wait for a lease holder, shortened for the batch's redelivery",
    (
        "e2e/faults/test_vod_faults.py",
        "ReceiptStore.record_submitted",
    ): HANDLER + "a process that dies between "
    "VOD's answer and its receipt: a crash no storage fault can make (the write would be retried)",
    (
        "e2e/faults/test_vod_faults.py",
        "submission.Submission._in_background",
    ): HANDLER + "the receipt write "
    "run before the webhook POST, so that the crash above happens before any delivery",
    (
        "e2e/test_completion.py",
        "completion._find_receipt",
    ): HANDLER + "a bug, then an outage, in one of three "
    "pulled events' receipt reads: the other two must be relayed",
    (
        "e2e/test_completion.py",
        "breakers.DESTINATIONS.clock",
    ): HANDLER + "the container's breakers (one per "
    "process) moved past their 30 s cooldown, as stack.vod.advance moves VOD's time",
    (
        "e2e/test_cmq.py",
        "sqs_module.sqs_client",
    ): HANDLER + "a guard: the Tencent-only deployment must never "
    "build an SQS client (it would fail the test, not fake one)",
    ("unit/test_services.py", "handler.infer_source"): "the handler's one call choosing the adapter: an "
    "adapter that starts a thread and then fails cannot be made from any event",
    # a spy, and a module name only a cold process lacks
    ("unit/http/test_api.py", "lib.outcomes.redact"): "a spy (it calls through unchanged) counting the "
    "scrubs of a huge error: the bound is on work done, which no answer shows",
    ("unit/test_services.py", "lib.vod.client._SDK"): "Services.vod() builds the real Vod, whose SDK is "
    "loaded in this process: a small module's name makes 'not loaded yet' observable",
    # the order of a cold start's work, chosen by what the process has loaded (lib.element, lib.assemble,
    # lib.http.routes): a one-line predicate each, set here to reach the cold branch in a warm test process
    ("unit/test_submission.py", "element_module._vod_client_unloaded"): COLD + "the claim's own thread",
    ("unit/test_element.py", "element_module._relay_unloaded"): COLD + "the VOD call's own thread",
    ("unit/test_assemble.py", "assemble_module._cold"): COLD + "the folder's listing in its own thread",
    ("unit/http/test_routes.py", "routes._rules_loaded"): COLD + "the HEADs before validation",
}


class Patch(NamedTuple):
    file: str
    line: int
    target: str
    kind: str


def imports_of(tree: ast.Module) -> dict[str, str]:
    """The names a file binds by import → what they name (``import a.b as c``: c → a.b)."""
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    bound[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    bound[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return bound


def kind_of(target: str) -> str:
    top = target.split(".")[0]
    if top in ("lib", "handler"):
        return "lib"
    if top in ("devstack", "tests"):
        return top
    if top in sys.stdlib_module_names:
        return "stdlib"
    return "third-party"


def dotted(node: ast.expr) -> tuple[str, list[str]] | None:
    """``a.b.c`` → ("a", ["b", "c"]); None for anything but a name and attributes."""
    rest: list[str] = []
    while isinstance(node, ast.Attribute):
        rest.insert(0, node.attr)
        node = node.value
    return (node.id, rest) if isinstance(node, ast.Name) else None


def resolve(node: ast.expr, attribute: str | None, bound: dict[str, str]) -> tuple[str, str]:
    """(target as written, its kind) for a patch of ``node`` (a string, or an object and ``attribute``)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value, kind_of(node.value)
    written = ast.unparse(node) + (f".{attribute}" if attribute else "")
    chain = dotted(node)
    if chain is None or chain[0] not in bound:
        return written, "local"
    return written, kind_of(".".join([bound[chain[0]], *chain[1]]))


def patches(path: Path, root: Path = TESTS) -> Iterator[Patch]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bound = imports_of(tree)
    name = path.relative_to(root).as_posix()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
            func = ast.unparse(node.func)
            if node.func.attr not in PATCHERS or not ("monkeypatch" in func or "patch" in func):
                continue
            if node.func.attr == "setattr" and "monkeypatch" not in func:
                continue  # the builtin-like setattr of another object: not a patch
            first, second = node.args[0], node.args[1] if len(node.args) > 1 else None
            attribute = None
            if (
                node.func.attr in ("object", "setattr", "delattr")
                and not isinstance(first, ast.Constant)
                and isinstance(second, ast.Constant)
                and isinstance(second.value, str)
            ):
                attribute = second.value
            target, kind = resolve(first, attribute, bound)
            yield Patch(name, node.lineno, target, kind)
        elif isinstance(node, ast.Assign):
            for assigned in node.targets:
                chain = dotted(assigned) if isinstance(assigned, ast.Attribute) else None
                if chain is not None and chain[0] in bound:  # a module's (or imported class's) attribute
                    whole = ".".join([bound[chain[0]], *chain[1]])
                    if kind_of(whole) != "tests":
                        yield Patch(name, node.lineno, ast.unparse(assigned), kind_of(whole))


def all_patches() -> list[Patch]:
    return [p for path in sorted(TESTS.rglob("*.py")) for p in patches(path)]


def test_no_test_patches_lib_or_other_code_it_could_inject_into() -> None:
    refused = [
        f"tests/{p.file}:{p.line}: {p.target} ({p.kind})"
        for p in all_patches()
        if p.kind not in ("stdlib", "tests") and (p.file, p.target) not in ALLOWED
    ]
    assert not refused, (
        "inject a fake (Services' constructor, a parameter) instead of patching:\n" + "\n".join(refused)
    )


def test_every_allowed_patch_still_exists_and_says_why() -> None:
    found = {(p.file, p.target) for p in all_patches()}
    assert sorted(set(ALLOWED) - found) == []
    assert all(len(reason) > 20 for reason in ALLOWED.values())


def test_the_scan_sees_each_way_of_patching(tmp_path: Path) -> None:
    """The scanner itself: each form is found and classified (so an empty result means something)."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import socket\nimport lib.invocation as retry\nfrom lib import pipeline\nfrom unittest import mock\n"
        "def t(monkeypatch, stack):\n"
        "    monkeypatch.setattr('lib.invocation._rng', None)\n"
        "    monkeypatch.setattr(retry, '_rng', None)\n"
        "    monkeypatch.setattr(socket, 'getaddrinfo', None)\n"
        "    monkeypatch.setattr(stack.vod, 'fetch_media', False)\n"
        "    mock.patch.object(pipeline, 'dispatch')\n"
        "    mock.patch('lib.pipeline.dispatch')\n"
        "    pipeline.dispatch = None\n"
    )
    found = [(p.target, p.kind) for p in sorted(patches(sample, tmp_path), key=lambda p: p.line)]
    assert found == [
        ("lib.invocation._rng", "lib"),
        ("retry._rng", "lib"),
        ("socket.getaddrinfo", "stdlib"),
        ("stack.vod.fetch_media", "local"),
        ("pipeline.dispatch", "lib"),
        ("lib.pipeline.dispatch", "lib"),
        ("pipeline.dispatch", "lib"),
    ]
