"""Deployment zip size: ``make package`` for SCF's Python 3.10 on Linux x86_64, against the 15 MB target."""

from __future__ import annotations

from bench.common import Row
from devstack.package import MAX_ZIP_BYTES, Target, build_package
from devstack.stack import LocalStack


def measure(stack: LocalStack) -> list[Row]:
    report = build_package(Target())
    size = report.zip_bytes / 2**20
    limit = MAX_ZIP_BYTES / 2**20
    largest = ", ".join(f"{p.name} {p.zipped / 2**20:.1f}" for p in report.parts[:3])
    return [
        Row(
            "deployment zip",
            size,
            None,
            "MB",
            f"≤ {limit:.0f} MB",
            report.within_limit,
            f"{report.files} files, {report.unpacked_bytes / 2**20:.1f} MB unpacked; largest (MB): {largest}",
        )
    ]
