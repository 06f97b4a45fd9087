"""Checks a built deployment package from the inside; run by ``devstack.packaging.build`` as

    python -I -S -B devstack/packaging/check.py PACKAGE_DIR quick|full cos|boto

``-I -S -B``: no site-packages, no user site, no PYTHON* variables, not even this file's folder on
``sys.path``, and no bytecode written into the package. The package directory is the only thing added,
so an import that works here works on the platform, which adds nothing else either. Prints one line
``PACKAGE-CHECK {json}`` with the findings.

``cos`` (the SCF package): qcloud_cos (cos-python-sdk-v5) signs a HEAD Object with temporary
credentials and sends it to an in-process stand-in on 127.0.0.1 (IP and Port set, the bucket's domain as
Host, as the function's COS_ENDPOINT_URL does), and presigns a GET URL carrying the token; ``boto3``,
``botocore`` and ``Crypto`` must not be importable (the SCF package ships none of them).

``boto`` (the Lambda package): the pure-Python boto3/botocore of the package creates S3 (COS and AWS
endpoints) and SQS clients, signs, serialises and parses a request each (answered in-process), and
presigns a URL: this proves the botocore data kept by the pruning is enough.

Both work whatever Python version the package targets (pure Python, plus pycryptodome-free COS).

``full`` (only when the package was built for this interpreter, or for one found on this machine): also
imports ``handler`` and every ``lib`` module, calls ``main_handler`` with an event of no known kind (a
clear error must come back), and submits a direct element request through the real Tencent Cloud SDK to
a stand-in VOD on 127.0.0.1.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import sys
import sysconfig
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MARKER = "PACKAGE-CHECK "
TASK_ID = "1500000001-CreateAigcAdvancedCustomElement-0123456789abcdef"


def check_boto(report: dict[str, Any]) -> None:
    import boto3
    from botocore.awsrequest import AWSResponse
    from botocore.config import Config

    class Raw:
        def __init__(self, body: bytes) -> None:
            self.body = body

        def stream(self, **_: Any) -> Any:
            yield self.body

    sent: list[str] = []

    def answer(status: int, headers: dict[str, str], body: bytes) -> Any:
        def before_send(request: Any, **_: Any) -> Any:
            sent.append(f"{request.method} {request.url.split('?')[0]}")
            return AWSResponse(request.url, status, headers, Raw(body))

        return before_send

    session = boto3.session.Session(
        aws_access_key_id="AKIDPACKAGECHECK",
        aws_secret_access_key="package-check-secret",  # noqa: S106 - a dummy, nothing is sent
        aws_session_token="package-check-token",  # noqa: S106
        region_name="ap-guangzhou",
    )
    cos = session.client(
        "s3",
        endpoint_url="https://cos.ap-guangzhou.myqcloud.com",
        config=Config(signature_version="s3v4", s3={"addressing_style": "virtual"}),
    )
    cos.meta.events.register(
        "before-send.s3.HeadObject",
        answer(200, {"ETag": '"abc"', "Content-Length": "5", "x-amz-request-id": "r"}, b""),
    )
    head = cos.head_object(Bucket="media-1250000000", Key="elements/hero/frontal.png")
    cos_url = cos.generate_presigned_url(
        "get_object", Params={"Bucket": "media-1250000000", "Key": "elements/hero/frontal.png"}, ExpiresIn=60
    )
    aws_s3 = session.client("s3", region_name="us-east-1")  # endpoint rules + partitions, no override
    s3_url = aws_s3.generate_presigned_url(
        "get_object", Params={"Bucket": "studio-assets", "Key": "elements/a.mp4"}, ExpiresIn=60
    )
    sqs = session.client("sqs", region_name="us-east-1")
    queue_url = "https://sqs.us-east-1.amazonaws.com/123456789012/element-requests"
    sqs.meta.events.register(
        "before-send.sqs.GetQueueUrl",
        answer(
            200,
            {"x-amzn-RequestId": "r", "Content-Type": "application/x-amz-json-1.0"},
            json.dumps({"QueueUrl": queue_url}).encode(),
        ),
    )
    got = sqs.get_queue_url(QueueName="element-requests")
    report["boto"] = {
        "s3_head_etag": head["ETag"],
        "cos_presigned_host": cos_url.split("/")[2],
        "s3_presigned_host": s3_url.split("/")[2],
        "sqs_queue_url": got["QueueUrl"],
        "sent": sent,
    }


class FakeCos(BaseHTTPRequestHandler):
    """Answers HEAD Object like COS; records the Host, the signature's algorithm and the token."""

    seen: list[dict[str, str]] = []  # noqa: RUF012 - one server per check process

    def do_HEAD(self) -> None:
        self.seen.append(
            {
                "path": self.path,
                "host": self.headers.get("Host", ""),
                "auth": self.headers.get("Authorization", "").split("&")[0],
                "token": self.headers.get("x-cos-security-token", ""),
            }
        )
        self.send_response(200)
        for name, value in (("ETag", '"abc"'), ("Content-Length", "5"), ("x-cos-request-id", "r")):
            self.send_header(name, value)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


def check_cos(report: dict[str, Any]) -> None:
    qcloud_cos = importlib.import_module("qcloud_cos")  # untyped: no stubs to declare here
    CosConfig, CosS3Client = qcloud_cos.CosConfig, qcloud_cos.CosS3Client

    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeCos)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    credentials = {
        "Region": "ap-guangzhou",
        "SecretId": "AKIDPACKAGECHECK",
        "SecretKey": "package-check-secret",
        "Token": "package-check-token",
    }
    try:
        local = CosS3Client(
            CosConfig(Scheme="http", IP="127.0.0.1", Port=server.server_address[1], **credentials)
        )
        head = local.head_object(Bucket="media-1250000000", Key="elements/hero/frontal.png")
    finally:
        server.shutdown()
        server.server_close()
    cos = CosS3Client(CosConfig(Scheme="https", **credentials))
    url = cos.get_presigned_url(
        Bucket="media-1250000000",
        Key="elements/hero/frontal.png",
        Method="GET",
        Expired=60,
        Params={"x-cos-security-token": "package-check-token"},
    )
    report["cos"] = {
        "head_etag": head.get("ETag"),
        "sent": FakeCos.seen,
        "presigned_host": url.split("/")[2],
        "presigned_has_token": "x-cos-security-token=package-check-token" in url,
        "presigned_algorithm": "q-sign-algorithm=sha1" in url,
    }
    report["boto_importable"] = _importable("boto3") or _importable("botocore")
    report["crypto_importable"] = _importable("Crypto")


def _importable(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


class FakeVod(BaseHTTPRequestHandler):
    """Answers every POST like VOD's CreateAigcAdvancedCustomElement; records the action and auth."""

    seen: list[dict[str, str]] = []  # noqa: RUF012 - one server per check process

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.seen.append(
            {
                "action": self.headers.get("X-TC-Action", ""),
                "auth": self.headers.get("Authorization", "").split(" ")[0],
            }
        )
        body = json.dumps({"Response": {"TaskId": TASK_ID, "RequestId": "package-check"}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


def check_full(report: dict[str, Any]) -> None:
    import handler
    import lib

    modules = ["handler"]
    for info in pkgutil.walk_packages(lib.__path__, "lib."):
        importlib.import_module(info.name)
        modules.append(info.name)
    report["imported"] = modules
    try:
        handler.main_handler({"hello": "world"}, None)
    except Exception as exc:
        report["invalid_event"] = {"type": type(exc).__name__, "message": str(exc)}
    else:
        report["invalid_event"] = None

    report["console"] = check_console(handler)

    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeVod)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        os.environ.update(
            {
                "VOD_ENDPOINT": f"http://127.0.0.1:{server.server_address[1]}",
                "TENCENTCLOUD_SECRETID": "AKIDPACKAGECHECK",
                "TENCENTCLOUD_SECRETKEY": "package-check-secret",
                "TENCENTCLOUD_SESSIONTOKEN": "package-check-token",
                "LOG_LEVEL": "ERROR",
            }
        )
        request = {
            "name": "check",
            "frontal_image": "https://example.com/front.png",
            "refer_images": ["https://example.com/left.png"],
        }
        result = handler.main_handler(request, {"request_id": "package-check", "time_limit_in_ms": 20000})
    finally:
        server.shutdown()
        server.server_close()
    report["direct_request"] = {"status": result.get("status"), "task_id": result.get("task_id")}
    report["vod_calls"] = FakeVod.seen


def check_console(handler: Any) -> dict[str, Any]:
    """GET /console and its two files through the handler, as a Function URL event."""
    answers = {}
    for path in ("/console", "/console/app.js", "/console/app.css"):
        event: dict[str, Any] = {
            "httpMethod": "GET",
            "path": path,
            "headers": {},
            "queryString": {},
            "body": "",
        }
        result = handler.main_handler(event, {"request_id": "package-check", "time_limit_in_ms": 20000})
        headers = result.get("headers") or {}
        answers[path] = {
            "status": result.get("statusCode"),
            "bytes": len(result.get("body") or ""),
            "csp": "default-src 'none'" in headers.get("Content-Security-Policy", ""),
        }
    return answers


def outside_modules(tree: str) -> list[str]:
    """Modules loaded from anywhere but the package and the standard library."""
    allowed = [os.path.realpath(tree)]
    allowed += [os.path.realpath(sysconfig.get_paths()[name]) for name in ("stdlib", "platstdlib")]
    outside = []
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        real = os.path.realpath(path) if path else ""
        if not real or real == os.path.realpath(__file__):
            continue
        if not any(real == root or real.startswith(root + os.sep) for root in allowed):
            outside.append(f"{name}: {path}")
    return sorted(outside)


def main(argv: list[str]) -> int:
    tree, mode = argv[1], argv[2]
    storage = argv[3] if len(argv) > 3 else "boto"
    sys.path.insert(0, tree)
    report: dict[str, Any] = {
        "python": f"{sys.version_info[0]}.{sys.version_info[1]}",
        "site_packages_on_path": [p for p in sys.path if "site-packages" in p],
    }
    if storage == "cos":
        check_cos(report)
    else:
        check_boto(report)
    if mode == "full":
        check_full(report)
    report["outside"] = outside_modules(tree)
    print(MARKER + json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
