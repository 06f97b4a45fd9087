"""The README's promises and the deployment file agree with the code."""

from __future__ import annotations

import importlib
import re
import time
from pathlib import Path
from typing import Any

from lib.relay import sign
from lib.settings import DEFAULT_ELEMENT_PREFIX

ROOT = Path(__file__).resolve().parent.parent


def readme_verifier() -> Any:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- verify-recipe -->\s*```python\n(.*?)```", text, re.S)
    assert block, "the README has a verify recipe block"
    namespace: dict[str, Any] = {}
    exec(compile(block.group(1), "README.md", "exec"), namespace)  # noqa: S102 - our own README
    return namespace["verify"]


def test_readme_verifier_accepts_our_signature_and_rejects_tampering() -> None:
    """The receiver recipe in the README verifies what the relay signs, and nothing else."""
    verify = readme_verifier()
    body = b'{"event":"element.submitted"}'
    header = sign("s3cret", int(time.time()), body)
    assert verify("s3cret", header, body)
    assert not verify("s3cret", header, body + b" ")
    assert not verify("other", header, body)
    assert not verify("s3cret", sign("s3cret", int(time.time()) - 3600, body), body)


def test_readme_shows_the_two_commands() -> None:
    """make demo and make test are where a newcomer looks."""
    text = (ROOT / "README.md").read_text()
    assert "make demo" in text and "make test" in text


def test_serverless_yml_handler_resolves_and_filter_matches_settings() -> None:
    """serverless.yml's handler is importable and callable; its COS prefix is the ELEMENT_PREFIX default."""
    text = (ROOT / "serverless.yml").read_text()
    handler_ref = re.search(r"^\s+handler:\s*(\S+)", text, re.M)
    assert handler_ref
    module, _, function = handler_ref.group(1).rpartition(".")
    assert callable(getattr(importlib.import_module(module), function))
    assert re.search(r"^\s+runtime:\s*Python3\.10\b", text, re.M)
    assert re.search(r"^component:\s*scf$", text, re.M)
    prefix = re.search(r"prefix:\s*(\S+)", text)
    assert prefix and prefix.group(1) == DEFAULT_ELEMENT_PREFIX
    for excluded in ("tests/**", "events/**", ".env", "devstack/**"):
        assert excluded in text


def test_lambda_alias_is_the_same_function() -> None:
    """lambda_handler is main_handler."""
    import handler

    assert handler.lambda_handler is handler.main_handler
