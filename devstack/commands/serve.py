"""``python -m devstack serve`` (``make serve``): ``handler.main_handler`` on 127.0.0.1 as an SCF Function
URL serves it. Each HTTP request becomes a Function URL event, and the handler's answer the response:

    make serve                                     # port 9100; the local stack when no credentials are set
    curl -X POST localhost:9100/elements -d @body.json
    python -m devstack serve --port 9200 --stack   # --stack / --no-stack choose explicitly

With the local stack (VOD emulator, moto's S3, webhook receiver) the environment points at it, the sample
media of ``events/http/`` are uploaded, and webhook deliveries are printed as they arrive. The demo's
element folder (``events/cos/put.json``) is uploaded through the COS stand-in, so the deployment's COS
trigger submits it and the console (``/console``) lists it (``--no-seed``: not).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import sys
import uuid
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from devstack.commands.stack import add_latency_option
from devstack.http_events import build_event

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
DEFAULT_PORT = 9100
MAX_REQUEST_BYTES = 6 * 1024 * 1024  # SCF's limit for a synchronous invocation's request
TIME_LIMIT_MS = 60_000
DEMO_EVENT = ROOT / "events" / "cos" / "put.json"  # the demo's upload: what make demo and the seed submit
Invoke = Callable[[dict[str, Any], dict[str, Any]], Any]


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from devstack.commands.stack import port_number
    from devstack.scf.options import add_trigger_options

    parser = commands.add_parser(
        "serve",
        help="serve the handler on 127.0.0.1 as an SCF Function URL, with the deployment's triggers",
        description="Serve handler.main_handler as an SCF Function URL (reloaded when handler.py or lib/ "
        "changes); with the local stack, also run serverless.yml's COS and Timer triggers.",
    )
    parser.add_argument(
        "--port",
        type=port_number,
        default=DEFAULT_PORT,
        help=f"default {DEFAULT_PORT} (make serve SERVE_ARGS='--port N')",
    )
    parser.add_argument(
        "--stack",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="start the local stack and point the environment at it (default: when no credentials are set)",
    )
    parser.add_argument(
        "--seed",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="with the local stack and its triggers: upload the demo's element folder through the COS "
        "stand-in, so the COS trigger submits it and the console lists it (default: on)",
    )
    add_trigger_options(parser)
    add_latency_option(parser)
    parser.set_defaults(run=serve)


def serve(args: argparse.Namespace) -> int:
    from devstack.scf.instances import InstancePool, Reloader
    from devstack.scf.options import check_config

    use_stack = args.stack if args.stack is not None else not _has_credentials(os.environ)
    if args.latency and not use_stack:  # before anything is bound or started
        print("serve: --latency needs the local stack (--stack)", file=sys.stderr)
        return 2
    try:
        if use_stack:
            check_config(args)
    except ValueError as exc:
        print(f"serve: {exc}", file=sys.stderr)
        return 1
    with contextlib.ExitStack() as cleanup:
        try:  # the port first: a busy one fails at once, before the stack starts
            server = make_server(args.port, _unavailable)
        except OSError as exc:
            print(
                f"serve: cannot listen on {HOST}:{args.port}: {exc.strerror or exc} "
                "(another port: --port N, or make serve SERVE_ARGS='--port N')",
                file=sys.stderr,
            )
            return 1
        cleanup.callback(server.server_close)
        url = f"http://{HOST}:{server.server_port}"
        pools: list[InstancePool] = []
        if use_stack:
            try:
                scf = _start_stack(cleanup, args, server)
            except ValueError as exc:
                print(f"serve: {exc}", file=sys.stderr)
                return 1
            pools = [function.pool for function in scf.functions.values()] if scf is not None else []
        if server.invoke is _unavailable:  # type: ignore[attr-defined]  # no function with an http trigger
            pool = InstancePool("element-relay", dict(os.environ))
            cleanup.callback(pool.close)
            server.invoke = _invoker(pool)  # type: ignore[attr-defined]
            pools.append(pool)
        reloader = Reloader(pools, ROOT, notify=lambda line: print(line, flush=True)).start()
        cleanup.callback(reloader.stop)
        print(f"Serving handler.main_handler as an SCF Function URL on {url}")
        print(f"  console           {console_url(server.server_port)}", flush=True)
        print(f"  curl -X POST localhost:{server.server_port}/elements -d @body.json   (README: HTTP API)")
        print("  POST /vod/pull needs API_TOKEN set (403 without it); the Timer trigger pulls on its own")
        print("  reloaded when handler.py or lib/ changes; Ctrl-C stops.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
    return 0


def _unavailable(event: dict[str, Any], context: dict[str, Any]) -> Any:
    raise RuntimeError("the function is not started yet")


def _invoker(pool: Any) -> Invoke:
    """A Function URL's synchronous invocation on ``pool``: its log lines to stderr, its error raised."""

    def invoke(event: dict[str, Any], context: dict[str, Any]) -> Any:
        outcome = pool.invoke(event, context)
        for line in outcome.logs:
            print(line, file=sys.stderr, flush=True)
        if outcome.error is not None:
            raise RuntimeError(outcome.error)
        return outcome.result

    return invoke


def _logs_to_stderr() -> None:
    """The handler's JSON log lines (stdout on the platform) go to stderr here: stdout is for results
    (the endpoints, webhook deliveries)."""
    from lib import logs

    with contextlib.redirect_stdout(sys.stderr):  # configure binds the stream it finds: stderr
        logs.configure(os.environ.get("LOG_LEVEL", "INFO").strip().upper() or "INFO")


def make_server(port: int = DEFAULT_PORT, invoke: Invoke | None = None) -> ThreadingHTTPServer:
    """A server on 127.0.0.1:``port`` (0: any free port) answering every request through its
    ``invoke`` attribute (``invoke``, by default the handler in this process; replaceable later)."""
    if invoke is None:
        import handler

        invoke = handler.main_handler
    server = ThreadingHTTPServer((HOST, port), _handler_class())
    server.daemon_threads = True
    server.invoke = invoke  # type: ignore[attr-defined]
    return server


def to_http(result: Any) -> tuple[int, dict[str, str], bytes]:
    """What a Function URL makes of the function's return value: the response it describes, or 200 JSON."""
    if isinstance(result, dict) and "statusCode" in result:
        headers = {
            str(k): ", ".join(v) if isinstance(v, list) else str(v)
            for k, v in result.get("headers", {}).items()
        }
        body = result.get("body") or ""
        raw = base64.b64decode(body) if result.get("isBase64Encoded") is True else str(body).encode()
        return int(result["statusCode"]), headers, raw
    return 200, {"Content-Type": "application/json"}, json.dumps(result).encode()


def _handler_class() -> type[BaseHTTPRequestHandler]:
    class FunctionUrl(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_REQUEST_BYTES:
                self._reply(413, {"Content-Type": "application/json"}, b'{"error": "request too large"}')
                self.close_connection = True
                return
            body = self.rfile.read(length)
            parts = urlsplit(self.path)
            event = build_event(
                "scf_function_url",
                self.command,
                parts.path,
                body=body,
                headers=dict(self.headers.items()),
                query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                client_ip=self.client_address[0],
            )
            context = {"request_id": str(uuid.uuid4()), "time_limit_in_ms": TIME_LIMIT_MS}
            try:
                status, headers, raw = to_http(self.server.invoke(event, context))  # type: ignore[attr-defined]
            except Exception as exc:  # the platform answers a function error itself
                error = {"errorCode": -1, "errorMessage": f"{type(exc).__name__}: {exc}"}
                status, headers, raw = 502, {"Content-Type": "application/json"}, json.dumps(error).encode()
            self._reply(status, headers, raw)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve

        def _reply(self, status: int, headers: Mapping[str, str], raw: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() not in ("content-length", "connection"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(raw)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the handler logs each request as a JSON line

    return FunctionUrl


def _has_credentials(env: Mapping[str, str]) -> bool:
    return any(env.get(name) for name in ("TENCENTCLOUD_SECRETID", "TENCENTCLOUD_SECRET_ID"))


def _start_stack(cleanup: contextlib.ExitStack, args: argparse.Namespace, server: ThreadingHTTPServer) -> Any:
    """The local stack with its sample objects, the environment pointed at it, and the deployment's
    functions and triggers on it (the Function URL served by ``server``); the LocalScf, or None."""
    from devstack.samples import stage_samples
    from devstack.scf.options import describe_functions, echo_line, start_triggers
    from devstack.stack import LocalStack

    stack = cleanup.enter_context(LocalStack(latency=args.latency))
    os.environ.update(stack.env())
    staged = stage_samples(stack)
    scf = start_triggers(stack, args, echo=echo_line, url_server=server)
    if scf is not None:
        cleanup.callback(scf.stop)
    print("Local stack on 127.0.0.1:")
    print(f"  VOD emulator      {stack.vod.endpoint}")
    print(f"  COS stand-in      {stack.cos_endpoint} (COS signatures checked; objects in moto)")
    print(f"  S3 (moto)         {stack.s3_endpoint}")
    print(f"  TDMQ for CMQ      {stack.tdmq.endpoint}")
    print(f"  webhook receiver  {stack.webhook.url}")
    print(
        f"  sample objects    {staged}, of every event in events/ (e.g. cos://media-1250000000/library/mascot/)"
    )
    if scf is not None:
        print("\n".join(describe_functions(scf)))
        if args.seed:
            print(f"  seeded            {seed_demo(stack)} (the demo's element, through the COS trigger)")
    return scf


def console_url(port: int = DEFAULT_PORT) -> str:
    """Where ``serve`` shows the console (``GET /console``, served by the function itself)."""
    return f"http://{HOST}:{port}/console"


def seed_demo(stack: Any) -> str:
    """Upload the demo's element folder through the COS stand-in (media first, ``element.json`` last, as
    an operator would), so the COS trigger submits it like any upload; the folder's address."""
    from devstack.samples import body_for, objects_of

    objects = sorted(objects_of(json.loads(DEMO_EVENT.read_text())), key=lambda o: o[1].endswith(".json"))
    client = stack.cos_client()
    for bucket, key in objects:
        client.put_object(Bucket=bucket, Key=key, Body=body_for(key))
    bucket, key = objects[-1]
    return f"cos://{bucket}/{key.rsplit('/', 1)[0]}/"
