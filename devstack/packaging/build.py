"""``python -m devstack package``: the deployment zip (``make package``). Never deployed itself.

    python -m devstack package                       # SCF: Python 3.10, Linux x86_64 (the defaults)
    python -m devstack package --target lambda       # AWS Lambda: the same plus boto3
    python -m devstack package --python-version 3.10 --platform manylinux2014_x86_64
    python -m devstack package --platform native     # for this machine and its pip's own wheel tags

Two deployment targets (``DEPLOYS``):
- ``scf`` (build/package/, build/element-relay.zip; serverless.yml): Tencent's SDKs (tencentcloud common
  and VOD, cos-python-sdk-v5), pydantic and the function. No boto3, botocore, s3transfer, jmespath or
  python-dateutil: on SCF, COS goes through qcloud_cos and nothing reaches AWS. At most 6 MB.
- ``lambda`` (build/package-lambda/, build/element-relay-lambda.zip; template.yaml): every pin of
  requirements.txt, boto3 included (S3 and SQS on AWS). At most 15 MB.

Steps:
1. pip installs the target's pins of ``requirements.txt`` (every pin, transitive ones included) as
   binary wheels for the target ABI into a fresh directory (``--only-binary=:all: --implementation cp
   --python-version ... --platform ...``): nothing is compiled, so the build machine may differ from
   the platform. A distribution pip installs that is not pinned is an error: a pin is missing;
2. what never runs in production is pruned (``PRUNING`` says what and why);
3. ``handler.py`` and ``lib/`` are copied in (no caches);
4. bytecode is compiled by the target's Python when this machine has it, reproducibly: unchecked-hash
   pycs (no timestamps), ``PYTHONHASHSEED=0`` (set and frozenset constants keep one order) and
   ``SOURCE_DATE_EPOCH``;
5. the tree is zipped reproducibly (sorted entries, fixed timestamps, fixed modes): two builds of one
   commit give byte-identical zips;
6. the package is checked in a fresh interpreter that sees the standard library and the package only
   (``devstack/packaging/check.py``): the storage SDK of the target (qcloud_cos, or boto3's S3/SQS
   clients), that the SCF package cannot import boto3, and the handler when the package targets this
   interpreter or one found here;
7. the zip's size and its largest parts are printed; a zip over the target's limit is an error.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from devstack.progress import Progress

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PYTHON_VERSION = "3.10"  # SCF's newest Python runtime (Python3.10)
# Each target's runtime: serverless.yml's Python3.10 (SCF's newest), template.yaml's python3.12 (Lambda
# deprecated python3.10 on 2026-10-31). The code itself stays 3.10-compatible (vermin, make compat).
TARGET_PYTHON = {"scf": DEFAULT_PYTHON_VERSION, "lambda": "3.12"}
DEFAULT_PLATFORM = "manylinux2014_x86_64"  # SCF and Lambda x86_64 run glibc Linux
NATIVE = "native"
DEFAULT_TREE = ROOT / "build" / "package"  # serverless.yml src.src
DEFAULT_ZIP = ROOT / "build" / "element-relay.zip"
MAX_ZIP_BYTES = 15 * 1024 * 1024
SOURCE_DATE_EPOCH = "315532800"  # 1980-01-01, the zip's fixed date
SOURCES = ("handler.py", "lib")  # what the project itself deploys
CONSOLE_FILES = tuple(f"lib/http/console_assets/{name}" for name in ("index.html", "app.js", "app.css"))
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date zip can store: the same bytes on every build

# What pruning removes, with the reason. The function creates only S3 clients (COS via its S3 API, and
# S3) and, on AWS, is fed by SQS; it imports tencentcloud.common.* and tencentcloud.vod.v20180717 only.
BOTOCORE_SERVICES = frozenset({"s3", "sqs", "sts"})  # sts: assume-role / web-identity credential chains
BOTO3_RESOURCES = frozenset({"s3", "sqs"})
TENCENTCLOUD_PRODUCTS = frozenset({"common", "vod"})
DROP_PATHS = (
    "bin",  # console scripts of the dependencies (jp.py, normalizer)
    "tencentcloud/vod/v20240718",  # another VOD API version; the relay calls 2018-07-17
    # lib/vod/client.py calls VOD through tencentcloud.common's CommonClient and reads errorcodes only: the
    # generated models (4 MB) and VodClient are never imported (test_package checks lib's imports)
    "tencentcloud/vod/v20180717/models.py",
    "tencentcloud/vod/v20180717/vod_client.py",
    "tencentcloud/vod/v20180717/vod_client_async.py",  # the async clients need httpx, not installed
    "tencentcloud/common/abstract_client_async.py",
    "tencentcloud/common/common_client_async.py",
    "tencentcloud/common/retry_async.py",
    "tencentcloud/common/http/request_async.py",
    "certifi/tests",
    "crcmod/test.py",  # crcmod's self-test
)
DROP_TOP_LEVEL_PREFIXES = ("pip", "setuptools", "wheel", "pkg_resources", "_distutils_hack", "distutils-")
DROP_DIR_NAMES = frozenset({"__pycache__"})
DROP_SUFFIXES = (".pyc", ".pyo", ".pyi")  # bytecode of the build machine's Python; type stubs
DROP_FILE_NAMES = frozenset({"py.typed"})
DROP_DIST_INFO_FILES = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})  # RECORD lists
# pruned files: wrong, and only pip uninstall reads it; METADATA, licences and entry points stay
PRUNING = {
    "botocore/data": f"service models except {', '.join(sorted(BOTOCORE_SERVICES))} (root files kept)",
    "boto3/data": f"resource models except {', '.join(sorted(BOTO3_RESOURCES))}",
    "tencentcloud": f"products except {', '.join(sorted(TENCENTCLOUD_PRODUCTS))}",
    "paths": ", ".join(DROP_PATHS),
    "scf": "boto3, botocore, s3transfer, jmespath, python-dateutil: not installed",
    "both": "pycryptodome (Crypto/): only qcloud_cos's client-side encryption imports it",
    "sources": "compiled modules of source-only pins (crcmod's optional C extension)",
    "everywhere": "__pycache__, *.pyc, *.pyo, *.pyi, py.typed, pip/setuptools/wheel, dist-info RECORD",
}


@dataclass(frozen=True)
class Deploy:
    """What one platform's package holds: the pins it leaves out, and its size limit."""

    name: str
    tree: Path
    zip_path: Path
    max_zip_bytes: int
    excluded: frozenset[str] = frozenset()  # distribution names (normalised) not installed
    dropped: tuple[str, ...] = ()  # top-level entries removed after the install (see PRUNING)
    storage: str = "cos"  # what check.py proves: "cos" (qcloud_cos) or "boto" (boto3)


# Pins published as source only, each pure Python once its optional C extension is left out: installed
# from source for this machine, their compiled modules removed (they would be this machine's, not the
# target's), and their WHEEL tag rewritten to what ships (py3-none-any).
PURE_SDISTS = {
    "crcmod": "qcloud_cos imports it; without _crcfunext it uses its pure-Python _crcfunpy",
}
# pycryptodome (Crypto/) serves only qcloud_cos.crypto (CosEncryptionClient, client-side encryption),
# which `import qcloud_cos` does not load and the function never uses; it would take 3.8 MB of the SCF
# package's 6 MB. check.py proves the COS calls work without it; its dist-info goes with it.
NOT_IMPORTED = ("Crypto", "pycryptodome-")
AWS_ONLY = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil"})
DEPLOYS = {
    "scf": Deploy(
        "scf",
        DEFAULT_TREE,
        DEFAULT_ZIP,
        6 * 1024 * 1024,
        excluded=AWS_ONLY,
        dropped=NOT_IMPORTED,
    ),
    "lambda": Deploy(
        "lambda",
        ROOT / "build" / "package-lambda",  # template.yaml CodeUri
        ROOT / "build" / "element-relay-lambda.zip",
        MAX_ZIP_BYTES,
        dropped=NOT_IMPORTED,
        storage="boto",
    ),
}


@dataclass(frozen=True)
class Target:
    """The runtime a package is built for. ``platform=None``: this machine (pip's own tags)."""

    python_version: str = DEFAULT_PYTHON_VERSION
    platform: str | None = DEFAULT_PLATFORM
    implementation: str = "cp"
    deploy: str = "scf"  # a key of DEPLOYS

    @classmethod
    def this_interpreter(cls, deploy: str = "scf") -> Target:
        return cls(f"{sys.version_info[0]}.{sys.version_info[1]}", None, deploy=deploy)

    def describe(self) -> str:
        where = self.platform or "this machine"
        return f"{self.deploy.upper()}: Python {self.python_version} ({self.implementation}) on {where}"

    def runs_here(self) -> bool:
        """Whether this interpreter can load the package's compiled modules (pydantic_core)."""
        if self.python_version != f"{sys.version_info[0]}.{sys.version_info[1]}":
            return False
        if self.platform is None:
            return True
        here = sysconfig.get_platform().replace("-", "_").replace(".", "_")  # linux_x86_64, ...
        return here.startswith("linux_") and self.platform.endswith(here.removeprefix("linux_"))


@dataclass
class Part:
    """One top-level entry of the package (a package, a module, a dist-info folder)."""

    name: str
    files: int = 0
    zipped: int = 0
    unpacked: int = 0


@dataclass
class PackageReport:
    target: str
    zip_path: str
    tree: str
    zip_bytes: int
    unpacked_bytes: int
    files: int
    pruned_files: int
    pruned_bytes: int
    parts: list[Part] = field(default_factory=list)
    check: dict[str, Any] = field(default_factory=dict)
    max_zip_bytes: int = MAX_ZIP_BYTES

    @property
    def within_limit(self) -> bool:
        return self.zip_bytes <= self.max_zip_bytes


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "package",
        help="build the deployment zip (build/element-relay.zip and build/package/)",
        description="Build the deployment package: binary wheels of requirements.txt for the target "
        "runtime, pruned to what runs in production, plus handler.py and lib/.",
    )
    parser.add_argument(
        "--target",
        choices=sorted(DEPLOYS),
        default="scf",
        help="platform: scf (Tencent SDKs, no boto3) or lambda (with boto3); default %(default)s",
    )
    parser.add_argument(
        "--python-version",
        help="target Python (default: the target's runtime, "
        + ", ".join(f"{name} {version}" for name, version in TARGET_PYTHON.items())
        + ")",
    )
    parser.add_argument(
        "--platform",
        default=DEFAULT_PLATFORM,
        help=f"pip platform tag of the target (default %(default)s); '{NATIVE}' for this machine",
    )
    parser.add_argument(
        "--tree", type=Path, help="unpacked package directory (default build/package[-lambda]/)"
    )
    parser.add_argument(
        "--output", type=Path, help="the zip to write (default build/element-relay[-lambda].zip)"
    )
    parser.add_argument("--max-mb", type=float, help="size limit (default: the target's, 6 or 15 MB)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON (for programs)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    platform = None if args.platform == NATIVE else args.platform
    target = Target(args.python_version or TARGET_PYTHON[args.target], platform, deploy=args.target)
    deploy = DEPLOYS[args.target]
    progress = Progress()
    try:
        report = build_package(
            target,
            tree=args.tree or deploy.tree,
            zip_path=args.output or deploy.zip_path,
            progress=progress,
            max_zip_bytes=int(args.max_mb * 2**20) if args.max_mb else deploy.max_zip_bytes,
        )
    except PackageError as exc:
        print(f"package: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({**asdict(report), "within_limit": report.within_limit}, indent=2))
    else:
        print(format_report(report))
    if not report.within_limit:
        print(f"package: {report.zip_path} exceeds {mb(report.max_zip_bytes)}", file=sys.stderr)
        return 1
    return 0


class PackageError(Exception):
    """The package could not be built or failed its check."""


def build_package(
    target: Target,
    *,
    tree: Path | None = None,
    zip_path: Path | None = None,
    requirements: Path = ROOT / "requirements.txt",
    progress: Progress | None = None,
    max_zip_bytes: int | None = None,
) -> PackageReport:
    """Build ``tree`` and ``zip_path`` for ``target`` and check them; see the module's docstring."""
    deploy = DEPLOYS[target.deploy]
    progress = progress or Progress(quiet=True)
    progress.note(f"Packaging AIGC Element Relay for {target.describe()}")
    tree, zip_path = (tree or deploy.tree).resolve(), (zip_path or deploy.zip_path).resolve()
    max_zip_bytes = max_zip_bytes or deploy.max_zip_bytes
    _clear(tree)
    pins = pinned(requirements, deploy.excluded)
    wheels = {name: pin for name, pin in pins.items() if name not in PURE_SDISTS}
    sources = [pin for name, pin in pins.items() if name in PURE_SDISTS]
    with progress.step(f"Installing {requirements.name} as binary wheels ({len(wheels)} pins)"):
        install_requirements(target, write_pins(wheels, tree.parent / f".{tree.name}-requirements.txt"), tree)
    if sources:
        with progress.step(f"Installing {', '.join(sources)} from source, pure Python"):
            install_pure_sources(sources, tree)
    missing = unmet_requirements(tree, target.python_version)
    if missing:
        raise PackageError(f"requirements.txt does not pin what the {deploy.name} package needs: {missing}")
    with progress.step("Pruning what never runs in production"):
        pruned_files, pruned_bytes = prune(tree, deploy.dropped)
    progress.note(f"  removed {pruned_files} files ({mb(pruned_bytes)})")
    copy_sources(tree)
    compiler = target_interpreter(target)
    if compiler is None:
        progress.note(f"  no Python {target.python_version} here: the package ships without bytecode")
    else:
        with progress.step(f"Precompiling bytecode with Python {target.python_version}"):
            precompile(compiler, tree)
    with progress.step(f"Writing {_shown(zip_path)}"):
        write_zip(tree, zip_path)
    native = target.runs_here() and target.platform is None
    own = None if target.runs_here() else (compiler if _loads_wheels(target) else None)
    mode = "full" if target.runs_here() or own is not None else "boto"
    clients = "S3/SQS clients" if deploy.storage == "boto" else "COS client"
    what = f"handler, SDK, {clients}" if mode == "full" else f"{clients}; the handler needs its own Python"
    where = f"Python {target.python_version}" if own is not None or native else "a fresh interpreter"
    with progress.step(f"Checking the package in {where} ({what})"):
        check = check_package(tree, full=mode == "full", interpreter=own, storage=deploy.storage)
    files, unpacked, parts = measure(zip_path)
    return PackageReport(
        target=target.describe(),
        zip_path=str(zip_path),
        tree=str(tree),
        zip_bytes=zip_path.stat().st_size,
        unpacked_bytes=unpacked,
        files=files,
        pruned_files=pruned_files,
        pruned_bytes=pruned_bytes,
        parts=parts,
        check=check,
        max_zip_bytes=max_zip_bytes,
    )


def _clear(tree: Path) -> None:
    """Empty the output tree, refusing to delete a directory that is not a previous package."""
    if tree.exists():
        if any(tree.iterdir()) and not (tree / "handler.py").is_file():
            raise PackageError(f"{tree} exists and is not a package built here; remove it or choose another")
        shutil.rmtree(tree)
    tree.mkdir(parents=True)


def normalise(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return "-".join(part for part in name.lower().replace("_", "-").replace(".", "-").split("-") if part)


def pinned(requirements: Path, excluded: frozenset[str] = frozenset()) -> dict[str, str]:
    """The ``name==version`` pins of a requirements file, by normalised name, minus ``excluded``."""
    pins: dict[str, str] = {}
    for raw in requirements.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, version = line.partition("==")
        if not sep or not version.strip():
            raise PackageError(f"{requirements.name}: {line!r} is not pinned as name==version")
        key = normalise(name)
        if key not in excluded:
            pins[key] = f"{name.strip()}=={version.strip()}"
    return pins


def write_pins(pins: dict[str, str], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in pins.values()))
    return path


def installed_distributions(tree: Path) -> dict[str, Path]:
    """The distributions installed in ``tree``: normalised name → dist-info folder."""
    infos = tree.glob("*.dist-info")
    return {normalise(i.name.removesuffix(".dist-info").rsplit("-", 1)[0]): i for i in infos}


def unmet_requirements(tree: Path, python_version: str) -> list[str]:
    """``"dist → requirement"`` for every Requires-Dist (no extra, markers evaluated for the target's
    Python) that no installed distribution meets. pip installs the pins with ``--no-deps``, so this is
    how a dependency missing from requirements.txt shows up, instead of pip fetching it unpinned."""
    from packaging.requirements import InvalidRequirement, Requirement  # pytest's dependency

    installed = installed_distributions(tree)
    environment = {"python_version": python_version, "python_full_version": f"{python_version}.0"}
    environment["extra"] = ""
    unmet = []
    for name, info in sorted(installed.items()):
        metadata = (info / "METADATA").read_text(encoding="utf-8", errors="replace")
        for line in metadata.splitlines():
            if not line.startswith("Requires-Dist:"):
                continue
            try:
                requirement = Requirement(line.removeprefix("Requires-Dist:").strip())
            except InvalidRequirement:
                continue
            if requirement.marker is not None and not requirement.marker.evaluate(environment):
                continue
            if normalise(requirement.name) not in installed:
                unmet.append(f"{name} → {requirement}")
    return unmet


def pip_command(target: Target, requirements: Path, destination: Path) -> list[str]:
    """The pip command that installs the pinned requirements as binary wheels for ``target``."""
    command = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-input"]
    command += ["--no-compile", "--no-deps", "--only-binary=:all:", "--implementation", target.implementation]
    command += ["--python-version", target.python_version]
    if target.platform is not None:
        command += ["--platform", target.platform]
    return [*command, "--target", str(destination), "--requirement", str(requirements)]


def install_requirements(target: Target, requirements: Path, tree: Path) -> None:
    command = pip_command(target, requirements, tree)
    env = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()
        raise PackageError("pip failed:\n  " + " ".join(command) + "\n" + "\n".join(output[-30:]))


def install_pure_sources(pins: list[str], tree: Path) -> None:
    """Install source-only pins (PURE_SDISTS) without their dependencies, then make them pure Python:
    compiled modules removed, the WHEEL tag set to py3-none-any."""
    command = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-input"]
    command += ["--no-compile", "--no-deps", "--target", str(tree), *pins]
    env = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()
        raise PackageError("pip failed:\n  " + " ".join(command) + "\n" + "\n".join(output[-30:]))
    for pin in pins:
        name = pin.split("==")[0]
        for compiled in (tree / name).rglob("*"):
            if compiled.suffix in (".so", ".pyd"):
                compiled.unlink()
        for wheel in tree.glob(f"{name}-*.dist-info/WHEEL"):
            lines = [line for line in wheel.read_text().splitlines() if not line.startswith("Tag:")]
            lines = [line.replace("Root-Is-Purelib: false", "Root-Is-Purelib: true") for line in lines]
            wheel.write_text("\n".join([*lines, "Tag: py3-none-any"]) + "\n")


def prune(tree: Path, dropped: tuple[str, ...] = ()) -> tuple[int, int]:
    """Remove from ``tree`` what never runs in production, and the top-level entries named (or
    prefixed) by ``dropped``; returns (files, bytes) removed."""
    doomed: list[Path] = [p for p in tree.iterdir() if any(_drops(p.name, d) for d in dropped)]
    doomed += _children_except(tree / "botocore" / "data", BOTOCORE_SERVICES, dirs_only=True)
    doomed += _children_except(tree / "boto3" / "data", BOTO3_RESOURCES, dirs_only=True)
    doomed += _children_except(tree / "tencentcloud", TENCENTCLOUD_PRODUCTS | {"__init__.py"})
    doomed += [tree / path for path in DROP_PATHS if (tree / path).exists()]
    doomed += [p for p in tree.iterdir() if p.name.startswith(DROP_TOP_LEVEL_PREFIXES)]
    doomed += [path for path in _walk(tree) if _droppable(path)]
    files = size = 0
    for path in doomed:
        if not path.exists():  # inside something removed already
            continue
        for item in [path] if path.is_file() else list(_walk(path)):
            if item.is_file():
                files, size = files + 1, size + item.stat().st_size
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    _remove_empty_dirs(tree)
    return files, size


def _drops(name: str, entry: str) -> bool:
    """``entry`` names a top-level entry exactly, or, ending in "-", a dist-info folder by prefix."""
    return name.startswith(entry) and name.endswith(".dist-info") if entry.endswith("-") else name == entry


def _droppable(path: Path) -> bool:
    """Caches, bytecode, stubs and install records, wherever they are."""
    if path.is_dir():
        return path.name in DROP_DIR_NAMES
    if path.parent.name.endswith(".dist-info"):
        return path.name in DROP_DIST_INFO_FILES
    return path.name.endswith(DROP_SUFFIXES) or path.name in DROP_FILE_NAMES


def _children_except(folder: Path, keep: frozenset[str], *, dirs_only: bool = False) -> list[Path]:
    if not folder.is_dir():
        return []
    return [p for p in folder.iterdir() if p.name not in keep and (p.is_dir() or not dirs_only)]


def _walk(folder: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(folder):
        base = Path(dirpath)
        yield from (base / name for name in dirnames)
        yield from (base / name for name in filenames)


def _remove_empty_dirs(tree: Path) -> None:
    for dirpath, _, _ in sorted(os.walk(tree), key=lambda entry: -len(entry[0])):
        path = Path(dirpath)
        if path != tree and not any(path.iterdir()):
            path.rmdir()


def copy_sources(tree: Path, root: Path = ROOT) -> None:
    """Copy handler.py and lib/ into the package, without bytecode caches."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo")
    for name in SOURCES:
        source, destination = root / name, tree / name
        if destination.exists():
            raise PackageError(f"a dependency installs {name!r}, which would shadow the project's own")
        if source.is_dir():
            shutil.copytree(source, destination, ignore=ignore)
        else:
            shutil.copy2(source, destination)


def _loads_wheels(target: Target) -> bool:
    """Whether this machine can load the target platform's compiled wheels (its Python aside)."""
    return Target(f"{sys.version_info[0]}.{sys.version_info[1]}", target.platform).runs_here()


def target_interpreter(target: Target) -> tuple[str, dict[str, str]] | None:
    """An interpreter of the target's Python version on this machine, or None.

    SCF runs with PYTHONDONTWRITEBYTECODE set and a read-only code directory, so a package without
    bytecode compiles every module on every cold start; bytecode must come from the target version.
    ``PACKAGE_PYTHON`` names one explicitly; else ``python<X.Y>`` on PATH (a pyenv shim is tried with
    an installed version of that series).
    """
    candidates = [os.environ.get("PACKAGE_PYTHON", ""), shutil.which(f"python{target.python_version}") or ""]
    for candidate in filter(None, candidates):
        env = dict(os.environ)
        if "pyenv" in candidate and shutil.which("pyenv"):
            bare = subprocess.run(
                ["pyenv", "versions", "--bare"], capture_output=True, text=True, check=False
            )
            series = [v for v in bare.stdout.split() if v.startswith(f"{target.python_version}.")]
            if series:
                env["PYENV_VERSION"] = series[-1]
        probe = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, env=env, check=False,
        )  # fmt: skip
        if probe.returncode == 0 and probe.stdout.strip() == target.python_version:
            return candidate, env
    return None


def precompile(compiler: tuple[str, dict[str, str]], tree: Path) -> None:
    """Write ``__pycache__/*.cpython-XY.pyc`` for every module, valid whatever the files' dates."""
    executable, env = compiler
    env = {**env, "PYTHONHASHSEED": "0", "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH}
    command = [
        executable,
        "-m",
        "compileall",
        "-q",
        "-j",
        "0",
        "--invalidation-mode",
        "unchecked-hash",
        "-s",  # file names recorded relative to the package: the same bytes wherever it was built
        str(tree),
        str(tree),
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise PackageError(f"compileall failed: {done.stdout[-500:]}{done.stderr[-500:]}")


def write_zip(tree: Path, zip_path: Path) -> None:
    """Zip ``tree`` (its contents at the zip's root) reproducibly: sorted, fixed dates and modes."""
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in _walk(tree) if p.is_file())
    partial = zip_path.with_name(f".{zip_path.name}.partial")  # renamed when complete
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
            for path in files:
                info = zipfile.ZipInfo(path.relative_to(tree).as_posix(), date_time=ZIP_DATE)
                info.external_attr = 0o100644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes(), compresslevel=9)
        partial.replace(zip_path)
    finally:
        partial.unlink(missing_ok=True)


def check_package(
    tree: Path,
    *,
    full: bool,
    interpreter: tuple[str, dict[str, str]] | None = None,
    storage: str = "boto",
) -> dict[str, Any]:
    """Run ``check.py`` on ``tree`` in ``python -I -S`` with an empty environment (with
    ``interpreter``, the target's own Python, found on this machine, instead of this one)."""
    script = Path(__file__).resolve().parent / "check.py"
    env = {
        "AWS_CONFIG_FILE": os.devnull,  # nothing from the developer's AWS profile
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    python = sys.executable
    if interpreter is not None:
        python = interpreter[0]
        env.update(
            {k: v for k, v in interpreter[1].items() if k in ("PYENV_VERSION", "PATH", "PYENV_ROOT", "HOME")}
        )
    command = [python, "-I", "-S", "-B", str(script), str(tree), "full" if full else "quick", storage]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)
    lines = [line for line in result.stdout.splitlines() if line.startswith("PACKAGE-CHECK ")]
    if result.returncode != 0 or not lines:
        raise PackageError(f"the package check failed:\n{result.stdout}{result.stderr}".rstrip())
    check: dict[str, Any] = json.loads(lines[-1].removeprefix("PACKAGE-CHECK "))
    problems = []
    if storage == "cos" and check.get("boto_importable"):
        problems.append("boto3 is importable from the SCF package")
    if check.get("outside"):
        problems.append(f"modules loaded from outside the package: {check['outside']}")
    if full:
        if (check.get("invalid_event") or {}).get("type") != "UnknownEventError":
            problems.append(f"an event of no known kind gave {check.get('invalid_event')}")
        if (check.get("direct_request") or {}).get("status") != "submitted":
            problems.append(f"the direct request through the SDK gave {check.get('direct_request')}")
        console = check.get("console") or {}
        if not console or any(not (a["status"] == 200 and a["bytes"] and a["csp"]) for a in console.values()):
            problems.append(f"GET /console and its files gave {console}")
    missing = [name for name in CONSOLE_FILES if not (Path(tree) / name).is_file()]
    if missing:  # package data: the page is served from these files
        problems.append(f"the console's files are missing: {', '.join(missing)}")
    if problems:
        raise PackageError("the package check failed: " + "; ".join(problems))
    return check


def measure(zip_path: Path) -> tuple[int, int, list[Part]]:
    """(files, unpacked bytes, parts largest first) of a zip."""
    parts: dict[str, Part] = {}
    with zipfile.ZipFile(zip_path) as archive:
        infos = archive.infolist()
    for info in infos:
        name = info.filename.split("/", 1)[0]
        part = parts.setdefault(name, Part(name))
        part.files += 1
        part.zipped += info.compress_size
        part.unpacked += info.file_size
    ordered = sorted(parts.values(), key=lambda p: (-p.zipped, p.name))
    return len(infos), sum(i.file_size for i in infos), ordered


def mb(size: int) -> str:
    return f"{size / 2**20:.1f} MB"


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def format_report(report: PackageReport, largest: int = 10) -> str:
    """The human-readable summary: size against the limit, then the largest parts."""
    verdict = "within" if report.within_limit else "OVER"
    lines = [
        f"{_shown(Path(report.zip_path))}: {mb(report.zip_bytes)} ({verdict} the {mb(report.max_zip_bytes)} "
        f"limit), {report.files} files, {mb(report.unpacked_bytes)} unpacked in {_shown(Path(report.tree))}/",
        f"Target: {report.target}",
        f"Largest parts (zipped, unpacked, files), {largest} of {len(report.parts)}:",
    ]
    width = max((len(p.name) for p in report.parts[:largest]), default=10)
    for part in report.parts[:largest]:
        lines.append(f"  {part.name:<{width}}  {mb(part.zipped):>8}  {mb(part.unpacked):>8}  {part.files:>5}")
    boto, cos = report.check.get("boto", {}), report.check.get("cos", {})
    if boto:
        lines.append("Checked: S3 (COS and AWS endpoints) and SQS clients built, signed and answered")
    if cos:
        lines.append(
            "Checked: qcloud_cos signed a HEAD with the token and presigned a GET on "
            f"{cos['presigned_host']}; boto3 importable: {report.check.get('boto_importable')}"
        )
    if "invalid_event" in report.check:
        lines.append(f"Checked: handler imports; unknown event -> {report.check['invalid_event']['message']}")
        lines.append(f"Checked: direct request through the SDK -> {report.check['direct_request']['status']}")
    else:
        lines.append(
            "Not run here: the handler import needs the target's Python (make test runs it for its own)"
        )
    return "\n".join(lines)
