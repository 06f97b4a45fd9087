"""``make package``: the deployment packages hold what runs in production, nothing else, and work alone.

Each package (SCF, and Lambda) is built once per test module for the interpreter running the tests
(``--platform native``, this Python's version) through the same command ``make package`` runs, so it
needs what the rest of the suite needs: pip and PyPI (or pip's cache). The SCF package is built a second
time, elsewhere, to compare the bytes. Nothing is cached between runs.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from devstack.packaging.build import (
    AWS_ONLY,
    BOTO3_RESOURCES,
    BOTOCORE_SERVICES,
    DEPLOYS,
    DROP_PATHS,
    NOT_IMPORTED,
    TARGET_PYTHON,
    PackageError,
    Target,
    _clear,
    pinned,
    pip_command,
    prune,
    unmet_requirements,
    write_zip,
)

ROOT = Path(__file__).resolve().parents[2]
THIS_PYTHON = f"{sys.version_info[0]}.{sys.version_info[1]}"


def build(where: Path, target: str) -> dict[str, Any]:
    """``python -m devstack package --target TARGET`` for this interpreter; its --json report."""
    command = [sys.executable, "-m", "devstack", "package", "--target", target, "--platform", "native"]
    command += ["--python-version", THIS_PYTHON, "--json"]
    command += ["--tree", str(where / "package"), "--output", str(where / "element-relay.zip")]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    report["progress"] = result.stderr
    return report


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The SCF package (the default target)."""
    return build(tmp_path_factory.mktemp("scf"), "scf")


@pytest.fixture(scope="module")
def built_lambda(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The Lambda package (make package TARGET=lambda)."""
    return build(tmp_path_factory.mktemp("lambda"), "lambda")


def names_in(report: dict[str, Any]) -> list[str]:
    with zipfile.ZipFile(report["zip_path"]) as archive:
        return archive.namelist()


def test_handler_imports_from_the_package_alone_and_answers_a_clear_error(built: dict[str, Any]) -> None:
    """In ``python -I -S`` with only the package on sys.path, handler imports and explains a bad event."""
    check = built["check"]
    assert check["python"] == THIS_PYTHON
    assert check["site_packages_on_path"] == []
    assert check["outside"] == [], "modules came from outside the package and the standard library"
    assert check["invalid_event"]["type"] == "UnknownEventError"
    message = check["invalid_event"]["message"]
    assert message.startswith("event of no known kind; top-level keys seen: hello. Served: COS upload")
    assert "handler" in check["imported"] and "lib.vod.client" in check["imported"]


def test_the_package_submits_through_the_real_sdk(built: dict[str, Any]) -> None:
    """A direct request goes through pydantic, the Tencent Cloud SDK and requests from the package."""
    check = built["check"]
    assert check["direct_request"]["status"] == "submitted"
    assert check["direct_request"]["task_id"].startswith("1500000001-CreateAigcAdvancedCustomElement-")
    assert check["vod_calls"] == [{"action": "CreateAigcAdvancedCustomElement", "auth": "TC3-HMAC-SHA256"}]


def test_the_kept_botocore_data_serves_s3_and_sqs(built_lambda: dict[str, Any]) -> None:
    """Lambda: S3 (COS endpoint and AWS endpoint rules) and SQS clients work with the pruned botocore data."""
    assert built_lambda["check"]["direct_request"]["status"] == "submitted"
    boto = built_lambda["check"]["boto"]
    assert boto["s3_head_etag"] == '"abc"'
    assert boto["cos_presigned_host"] == "media-1250000000.cos.ap-guangzhou.myqcloud.com"
    assert boto["s3_presigned_host"] == "studio-assets.s3.amazonaws.com"
    assert boto["sqs_queue_url"].endswith("/element-requests")


@pytest.mark.parametrize("target", ["scf", "lambda"])
def test_the_package_holds_only_production_code(
    target: str, built: dict[str, Any], built_lambda: dict[str, Any]
) -> None:
    """handler.py and lib/ of this repository, the dependencies, and none of the rest."""
    report = built if target == "scf" else built_lambda
    names = names_in(report)
    top = {name.split("/", 1)[0] for name in names}
    assert {"handler.py", "lib", "tencentcloud", "qcloud_cos", "crcmod", "pydantic", "pydantic_core"} <= top
    assert ({"boto3", "botocore", "s3transfer"} <= top) == (target == "lambda")
    assert "Crypto" not in top and not [n for n in names if n.endswith((".so", ".pyd")) and "crcmod" in n]
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
    if target == "scf":
        return
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
    """SCF: at most 6 MB, and exactly the files of the unpacked tree (what serverless.yml uploads)."""
    assert built["zip_bytes"] <= DEPLOYS["scf"].max_zip_bytes == 6 * 2**20 and built["within_limit"]
    assert built["max_zip_bytes"] == 6 * 2**20
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


def test_two_builds_give_byte_identical_zips(built: dict[str, Any], tmp_path: Path) -> None:
    """A second make package, into another folder, gives the same bytes, bytecode included (hash seed
    fixed, unchecked-hash pycs with package-relative names, sorted entries at a fixed date)."""
    again = build(tmp_path, "scf")
    first, second = Path(built["zip_path"]).read_bytes(), Path(again["zip_path"]).read_bytes()
    with zipfile.ZipFile(built["zip_path"]) as a, zipfile.ZipFile(again["zip_path"]) as b:
        differing = [n for n in a.namelist() if n not in b.namelist() or a.read(n) != b.read(n)]
        assert [n for n in a.namelist() if n.endswith(".pyc")], "bytecode is part of the comparison"
    assert differing == []
    assert first == second


def test_the_scf_package_has_no_aws_sdk_and_speaks_cos(built: dict[str, Any]) -> None:
    """No boto3 (nor what only it needs); qcloud_cos signs with the token, presigns on the bucket domain."""
    check = built["check"]
    assert check["boto_importable"] is False and check["crypto_importable"] is False
    names = {n.split("/", 1)[0].split("-")[0].lower() for n in names_in(built)}
    for absent in ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "python_dateutil"):
        assert absent not in names
    cos = check["cos"]
    assert cos["head_etag"] == '"abc"'
    assert cos["sent"] == [
        {
            "path": "/elements/hero/frontal.png",
            "host": "media-1250000000.cos.ap-guangzhou.myqcloud.com",
            "auth": "q-sign-algorithm=sha1",
            "token": "package-check-token",
        }
    ]
    assert cos["presigned_host"] == "media-1250000000.cos.ap-guangzhou.myqcloud.com"
    assert cos["presigned_has_token"] and cos["presigned_algorithm"]
    assert check["direct_request"]["status"] == "submitted"  # the handler, from the package alone


def test_requirements_pin_everything_each_target_needs(tmp_path: Path) -> None:
    """The SCF pins leave out exactly the AWS-only distributions; a missing pin is reported by name."""
    pins = pinned(ROOT / "requirements.txt")
    scf = pinned(ROOT / "requirements.txt", AWS_ONLY)
    assert set(pins) - set(scf) == AWS_ONLY
    assert {"cos-python-sdk-v5", "tencentcloud-sdk-python-common", "pydantic", "crcmod"} <= set(scf)
    info = tmp_path / "needy-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Name: needy\nRequires-Dist: absent-dep>=1\nRequires-Dist: old-dep; python_version < '3.0'\n"
        "Requires-Dist: extra-dep; extra == 'speed'\n"
    )
    assert unmet_requirements(tmp_path, "3.10") == ["needy → absent-dep>=1"]


def test_lib_imports_nothing_the_packages_prune() -> None:
    """Pruning drops only modules the function never imports: no module of lib/ (or handler.py) names one."""
    pruned = {p.removesuffix(".py").replace("/", ".") for p in DROP_PATHS if p.endswith(".py")}
    pruned |= {name for name in NOT_IMPORTED if not name.endswith("-")} | {"qcloud_cos.crypto"}
    for path in [ROOT / "handler.py", *sorted((ROOT / "lib").rglob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            else:
                continue
            for module in modules:
                assert not any(module == p or module.startswith(p + ".") for p in pruned), (path, module)


def test_progress_goes_to_stderr(built: dict[str, Any]) -> None:
    """Each step that takes a moment says so, and how long it took."""
    progress = built["progress"]
    assert (
        "Installing requirements.txt as binary wheels (" in progress
        and "from source, pure Python" in progress
    )
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
    """make package TARGET=... PYTHON_VERSION=... PLATFORM=... reach the build; without PYTHON_VERSION the
    target's runtime is built for (SCF Python3.10, Lambda python3.12)."""
    text = (ROOT / "Makefile").read_text()
    assert "TARGET ?= scf" in text
    assert "PYTHON_VERSION ?=\n" in text and "PLATFORM ?= manylinux2014_x86_64" in text
    command = (
        "-m devstack package --target $(TARGET) $(if $(PYTHON_VERSION),--python-version $(PYTHON_VERSION)) "
        "--platform $(PLATFORM)"
    )
    assert command in text
    assert TARGET_PYTHON == {"scf": "3.10", "lambda": "3.12"}


def test_serverless_excludes_nothing_the_package_ships(built: dict[str, Any]) -> None:
    """serverless.yml's exclude list matches no file of the SCF package (bytecode included): a deploy
    uploads exactly what make package built."""
    import fnmatch

    import yaml

    excludes = yaml.safe_load((ROOT / "serverless.yml").read_text())["inputs"]["src"]["exclude"]
    names = names_in(built)
    assert [n for n in names if n.endswith(".pyc")], "the package ships bytecode"
    for pattern in excludes:
        regex = pattern.replace("**/", "*").replace("/**", "/*")
        assert not [n for n in names if fnmatch.fnmatch(n, regex)], pattern


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
