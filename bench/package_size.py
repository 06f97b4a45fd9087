"""Deployment zip sizes: ``make package`` for SCF (Tencent's SDKs, no boto3; at most 6 MB) and for AWS
Lambda (with boto3), both for Python 3.10 on Linux x86_64."""

from __future__ import annotations

from bench.common import Row
from devstack.packaging.build import Target, build_package
from devstack.stack import LocalStack


def measure(stack: LocalStack) -> list[Row]:
    rows = []
    for deploy in ("scf", "lambda"):
        report = build_package(Target(deploy=deploy))
        size = report.zip_bytes / 2**20
        limit = report.max_zip_bytes / 2**20
        largest = ", ".join(f"{p.name} {p.zipped / 2**20:.1f}" for p in report.parts[:3])
        rows.append(
            Row(
                f"deployment zip ({deploy})",
                size,
                None,
                "MB",
                f"≤ {limit:.0f} MB",
                report.within_limit,
                f"{report.files} files, {report.unpacked_bytes / 2**20:.1f} MB unpacked; "
                f"largest (MB): {largest}",
            )
        )
    return rows
