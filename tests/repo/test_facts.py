"""Facts that cannot drift: the README and the deployment files state what the tools print.

- Package sizes: both packages are built as ``make package`` builds them (SCF: Python 3.10, Lambda:
  Python 3.12, manylinux2014_x86_64), and every size the README and docs/ give is what the build prints.
- Memory: serverless.yml and template.yaml state no measured figure (README "Performance" has it, from
  ``make bench``), so it cannot go stale there.
- The Timer: the demo, ``generate-event timer``, ``events/timer/pull.json`` and the README use the name
  and argument serverless.yml deploys.
- Runtimes: template.yaml's python3.12 is what ``make package TARGET=lambda`` builds for.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.commands.demo import timer_tick
from devstack.commands.generate_event import deployed_timer
from devstack.packaging.build import TARGET_PYTHON, mb

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def build(where: Path, target: str) -> dict[str, Any]:
    """``python -m devstack package --target TARGET --json``: the target's own runtime and platform."""
    command = [sys.executable, "-m", "devstack", "package", "--target", target, "--json"]
    command += ["--tree", str(where / "package"), "--output", str(where / "package.zip")]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    report: dict[str, Any] = json.loads(result.stdout)
    return report


@pytest.fixture(scope="module")
def sizes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, str]]:
    """(zipped, unpacked) as the build prints them, per target."""
    found = {}
    for target in ("scf", "lambda"):
        report = build(tmp_path_factory.mktemp(target), target)
        assert report["target"].startswith(f"{target.upper()}: Python {TARGET_PYTHON[target]} (cp)")
        found[target] = (mb(report["zip_bytes"]), mb(report["unpacked_bytes"]))
        # the compiled wheels are the runtime's own: cp310 for SCF, cp312 for Lambda
        tag = "cpython-" + TARGET_PYTHON[target].replace(".", "")
        (compiled,) = Path(report["tree"], "pydantic_core").glob("_pydantic_core.*.so")
        assert compiled.name.startswith(f"_pydantic_core.{tag}-x86_64-linux-gnu"), compiled.name
    return found


def test_every_package_size_the_docs_give_is_what_the_build_prints(sizes: dict[str, tuple[str, str]]) -> None:
    (scf_zip, scf_unpacked), (lambda_zip, lambda_unpacked) = sizes["scf"], sizes["lambda"]
    readme = (ROOT / "README.md").read_text()
    row = f"| {scf_zip} zipped, {scf_unpacked} unpacked | {lambda_zip} zipped, {lambda_unpacked} unpacked |"
    assert row in readme, f"README Packaging: expected {row}"
    assert f"{scf_zip} (SCF), {lambda_zip} (Lambda)" in readme  # the Performance table
    known = {scf_zip, scf_unpacked, lambda_zip, lambda_unpacked}
    stated = re.findall(r"(\d+\.\d MB) (?:zipped|unpacked)", readme)
    stated += re.findall(r"with boto3, (\d+\.\d MB)\)", readme)
    for path in DOCS[1:]:  # docs/: a package's size is given as "N MB zipped, M MB unpacked"
        stated += [
            size
            for pair in re.findall(r"(\d+\.\d MB) zipped, (\d+\.\d MB) unpacked", path.read_text())
            for size in pair
        ]
    assert len(stated) >= 5
    for size in stated:
        assert size in known, f"the docs give {size}; the build prints {sorted(known)}"


def test_the_deployment_files_state_no_measured_memory() -> None:
    for name in ("serverless.yml", "template.yaml"):
        text = (ROOT / name).read_text()
        assert not re.search(r"RSS[^\n]*\d+ MB", text), f"{name} states a measured peak: README has it"


def test_the_timer_is_the_one_serverless_yml_deploys() -> None:
    name, message = deployed_timer()
    document = yaml.safe_load((ROOT / "serverless.yml").read_text())
    (timer,) = [e["timer"] for e in document["inputs"]["events"] if "timer" in e]
    assert (name, message) == (timer["name"], timer["parameters"]["argument"])
    tick = timer_tick()
    assert (tick["TriggerName"], tick["Message"]) == (name, message)
    sample = json.loads((ROOT / "events" / "timer" / "pull.json").read_text())
    assert (sample["TriggerName"], sample["Message"]) == (name, message)
    readme = (ROOT / "README.md").read_text()
    assert "vod-event-pull" not in readme and f"`{name}`" in readme


def test_template_targets_the_lambda_packages_python() -> None:
    text = (ROOT / "template.yaml").read_text()
    assert f"Runtime: python{TARGET_PYTHON['lambda']}" in text
    assert "runtime: Python3.10" in (ROOT / "serverless.yml").read_text()
    assert TARGET_PYTHON["scf"] == "3.10"
