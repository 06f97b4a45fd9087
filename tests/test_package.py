"""``make package``: the deployment package holds what runs in production, nothing else, and works alone.

The package is built once per test session for the interpreter running the tests (``--platform
native``, this Python's version) through the same command ``make package`` runs, so it needs what the
rest of the suite needs: pip and PyPI (or pip's cache). Nothing is cached between runs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from devstack.package import (
    BOTO3_RESOURCES,
    BOTOCORE_SERVICES,
    MAX_ZIP_BYTES,
    PackageError,
    Target,
    _clear,
    pip_command,
    prune,
    write_zip,
)

ROOT = Path(__file__).resolve().parent.parent
THIS_PYTHON = f"{sys.version_info[0]}.{sys.version_info[1]}"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``python -m devstack package`` for this interpreter; its --json report, plus the paths."""
    where = tmp_path_factory.mktemp("package")
    command = [sys.executable, "-m", "devstack", "package", "--platform", "native"]
    command += ["--python-version", THIS_PYTHON, "--json"]
    command += ["--tree", str(where / "package"), "--output", str(where / "element-relay.zip")]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    report["progress"] = result.stderr
    return report


def names_in(report: dict[str, Any]) -> list[str]:
    with zipfile.ZipFile(report["zip_path"]) as archive:
        return archive.namelist()


def test_handler_imports_from_the_package_alone_and_answers_a_clear_error(built: dict[str, Any]) -> None:
    """In ``python -I -S`` with only the package on sys.path, handler imports and explains a bad event."""
    check = built["check"]
    assert check["python"] == THIS_PYTHON
    assert check["site_packages_on_path"] == []
    assert check["outside"] == [], "modules came from outside the package and the standard library"
    assert check["invalid_event"] == {
        "type": "UnknownEventError",
        "message": "event of no known kind; top-level keys seen: hello",
    }
    assert "handler" in check["imported"] and "lib.vod" in check["imported"]


def test_the_package_submits_through_the_real_sdk(built: dict[str, Any]) -> None:
    """A direct request goes through pydantic, the Tencent Cloud SDK and requests from the package."""
    check = built["check"]
    assert check["direct_request"]["status"] == "submitted"
    assert check["direct_request"]["task_id"].startswith("1500000001-CreateAigcAdvancedCustomElement-")
    assert check["vod_calls"] == [{"action": "CreateAigcAdvancedCustomElement", "auth": "TC3-HMAC-SHA256"}]


def test_the_kept_botocore_data_serves_s3_and_sqs(built: dict[str, Any]) -> None:
    """S3 (COS endpoint and AWS endpoint rules) and SQS clients work with the pruned botocore data."""
    boto = built["check"]["boto"]
    assert boto["s3_head_etag"] == '"abc"'
    assert boto["cos_presigned_host"] == "media-1250000000.cos.ap-guangzhou.myqcloud.com"
    assert boto["s3_presigned_host"] == "studio-assets.s3.amazonaws.com"
    assert boto["sqs_queue_url"].endswith("/element-requests")


def test_the_package_holds_only_production_code(built: dict[str, Any]) -> None:
    """handler.py and lib/ of this repository, the dependencies, and none of the rest."""
    names = names_in(built)
    top = {name.split("/", 1)[0] for name in names}
    assert {"handler.py", "lib", "boto3", "botocore", "tencentcloud", "pydantic", "pydantic_core"} <= top
    for absent in ("tests", "events", "devstack", "bench", "bin", "pip", "setuptools", "build"):
        assert absent not in top
    tag = f"cpython-{sys.version_info[0]}{sys.version_info[1]}"
    bytecode = [n for n in names if n.endswith(".pyc")]
    assert bytecode and all("__pycache__/" in n and f".{tag}.pyc" in n for n in bytecode)  # target's only
    assert not [n for n in names if n.endswith((".pyi", "/RECORD"))]
    lib_files = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "lib").rglob("*.py"))
    assert sorted(n for n in names if n.startswith("lib/") and n.endswith(".py")) == lib_files
    compiled = {n.replace("__pycache__/", "").replace(f".{tag}.pyc", ".py") for n in bytecode}
    assert set(lib_files) <= compiled  # every module of ours ships compiled for the target
    services = {n.split("/")[2] for n in names if n.startswith("botocore/data/") and n.count("/") > 2}
    assert services == BOTOCORE_SERVICES
    for needed in ("_retry.json", "endpoints.json", "partitions.json", "sdk-default-configuration.json"):
        assert f"botocore/data/{needed}" in names
    assert {n.split("/")[2] for n in names if n.startswith("boto3/data/")} == BOTO3_RESOURCES
    sources = [n for n in names if not n.endswith(".pyc")]
    assert {n.split("/")[1] for n in sources if n.startswith("tencentcloud/")} == {
        "__init__.py",
        "common",
        "vod",
    }
    assert {n.split("/")[2] for n in sources if n.startswith("tencentcloud/vod/")} == {
        "__init__.py",
        "v20180717",
    }
    assert not [n for n in names if n.endswith(("_async.py", f"_async.{tag}.pyc"))]


def test_the_zip_is_within_the_limit_and_matches_the_tree(built: dict[str, Any]) -> None:
    """At most 15 MB, and exactly the files of the unpacked tree (what serverless.yml uploads)."""
    assert built["zip_bytes"] <= MAX_ZIP_BYTES and built["within_limit"]
    tree = Path(built["tree"])
    files = sorted(p.relative_to(tree).as_posix() for p in tree.rglob("*") if p.is_file())
    assert sorted(names_in(built)) == files
    parts = built["parts"]
    assert [p["zipped"] for p in parts] == sorted((p["zipped"] for p in parts), reverse=True)
    assert sum(p["files"] for p in parts) == built["files"]


def test_the_zip_is_reproducible(built: dict[str, Any], tmp_path: Path) -> None:
    """Zipping the same tree again gives the same bytes (sorted entries, fixed dates and modes)."""
    again = tmp_path / "again.zip"
    write_zip(Path(built["tree"]), again)
    assert again.read_bytes() == Path(built["zip_path"]).read_bytes()


def test_progress_goes_to_stderr(built: dict[str, Any]) -> None:
    """Each step that takes a moment says so, and how long it took."""
    progress = built["progress"]
    assert "Installing requirements.txt as binary wheels ... done" in progress
    assert "Checking the package in" in progress and "Precompiling bytecode" in progress


def test_the_default_target_is_scf_python_310_on_linux_x86_64() -> None:
    """make package asks pip for cp310 manylinux2014_x86_64 binary wheels of the pinned requirements."""
    command = pip_command(Target(), ROOT / "requirements.txt", Path("/tmp/out"))
    text = " ".join(command)
    assert "--only-binary=:all:" in command and "--no-compile" in command
    assert "--platform manylinux2014_x86_64" in text
    assert "--python-version 3.10" in text and "--implementation cp" in text
    assert f"--target /tmp/out --requirement {ROOT / 'requirements.txt'}" in text
    assert "--platform" not in pip_command(Target.this_interpreter(), Path("r.txt"), Path("o"))
    assert Target.this_interpreter().runs_here()
    assert not Target("3.9", "manylinux2014_x86_64").runs_here()


def test_makefile_passes_the_target_through() -> None:
    """make package PYTHON_VERSION=... PLATFORM=... reach the build."""
    text = (ROOT / "Makefile").read_text()
    assert "PYTHON_VERSION ?= 3.10" in text and "PLATFORM ?= manylinux2014_x86_64" in text
    assert "-m devstack package --python-version $(PYTHON_VERSION) --platform $(PLATFORM)" in text


def test_prune_rules(tmp_path: Path) -> None:
    """What pruning drops and keeps, on a tree made by hand."""
    keep = [
        "botocore/data/_retry.json",
        "botocore/data/endpoints.json",
        "botocore/data/s3/2006-03-01/service-2.json.gz",
        "botocore/data/sqs/2012-11-05/service-2.json.gz",
        "botocore/client.py",
        "boto3/data/s3/2006-03-01/resources-1.json",
        "tencentcloud/__init__.py",
        "tencentcloud/common/common_client.py",
        "tencentcloud/vod/v20180717/errorcodes.py",
        "pydantic/main.py",
        "requests-2.34.2.dist-info/METADATA",
        "requests-2.34.2.dist-info/LICENSE",
    ]
    drop = [
        "botocore/data/ec2/2016-11-15/service-2.json.gz",
        "boto3/data/ec2/2016-11-15/resources-1.json",
        "tencentcloud/cvm/v20170312/models.py",
        "tencentcloud/vod/v20240718/models.py",
        "tencentcloud/vod/v20180717/vod_client_async.py",
        "tencentcloud/common/abstract_client_async.py",
        "pydantic/__pycache__/main.cpython-310.pyc",
        "pydantic_core/_pydantic_core/__init__.pyi",
        "pydantic/py.typed",
        "requests-2.34.2.dist-info/RECORD",
        "bin/jp.py",
        "pip/__init__.py",
        "setuptools-80.0.dist-info/METADATA",
        "certifi/tests/test_certify.py",
    ]
    for name in keep + drop:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    files, size = prune(tmp_path)
    assert (files, size) == (len(drop), len(drop))
    left = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert left == sorted(keep)
    assert not (tmp_path / "pydantic_core").exists(), "folders left empty are removed"


def test_the_build_refuses_to_empty_a_foreign_folder(tmp_path: Path) -> None:
    """--tree pointing at something that is not a previous package is never deleted."""
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(PackageError, match="not a package built here"):
        _clear(tmp_path)
    assert (tmp_path / "precious.txt").exists()
