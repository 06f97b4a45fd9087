"""``python -m devstack stack`` (``make stack``): the local stand-ins on their own, in the foreground
until interrupted, for another shell, ``sam local invoke`` or the Serverless Framework to use.

    python -m devstack stack                                  # free ports; endpoints and secrets printed
    python -m devstack stack --vod-port 9000 --s3-port 9001 --webhook-port 9002
    python -m devstack stack --env-file build/stack.env       # KEY=VALUE lines, for a shell or dotenv
    python -m devstack stack --sam-env-vars build/sam-env.json
        # then: sam local invoke RelayFunction -e events/s3/put.json \\
        #           --env-vars build/sam-env.json --docker-network host

Everything ``LocalStack.env()`` returns (credentials, endpoints, the webhook secret, the receipt bucket)
is printed on stdout and written to the files; the files are written once the stack is up and removed
when it stops (they hold this run's secrets). Webhook deliveries are printed as they arrive.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from devstack.progress import Progress
from devstack.samples import stage_samples
from devstack.scf.options import (
    add_trigger_options,
    check_config,
    describe_functions,
    echo_line,
    positive_seconds,
    start_triggers,
)

# sam local invoke passes only variables the template declares; these are its names for the
# credentials SCF sets under its own names (template.yaml declares the fallback names).
SAM_NAMES = {
    "TENCENTCLOUD_SECRETID": "TENCENTCLOUD_SECRET_ID",
    "TENCENTCLOUD_SECRETKEY": "TENCENTCLOUD_SECRET_KEY",
    "TENCENTCLOUD_SESSIONTOKEN": "TENCENTCLOUD_SESSION_TOKEN",
}


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "stack",
        help="run the local stand-ins (VOD, storage, webhook) until Ctrl-C, for other shells and tools",
        description="Run the local stack in the foreground; print (and optionally write) its endpoints "
        "and credentials.",
    )
    parser.add_argument("--vod-port", type=port_number, default=0, help="VOD emulator port (default: free)")
    parser.add_argument("--s3-port", type=port_number, default=0, help="moto S3/SQS port (default: free)")
    parser.add_argument(
        "--webhook-port", type=port_number, default=0, help="webhook receiver port (default: free)"
    )
    parser.add_argument("--env-file", type=Path, help="write the environment as KEY=VALUE lines")
    parser.add_argument(
        "--sam-env-vars", type=Path, help="write the environment as JSON for `sam local invoke --env-vars`"
    )
    parser.add_argument("--json", action="store_true", help="print the environment as one JSON object")
    parser.add_argument(
        "--temporary-key-life",
        type=positive_seconds,
        metavar="SECONDS",
        help="give the function a temporary key that the COS stand-in refuses SECONDS from now, presigned "
        "URLs included (as SCF's role keys expire)",
    )
    add_trigger_options(parser)
    add_latency_option(parser)
    parser.set_defaults(run=run)


def add_latency_option(parser: argparse.ArgumentParser) -> None:
    """``--latency cos=20ms,vod=80ms,webhook=40ms``: each stand-in named answers that much later."""
    parser.add_argument(
        "--latency",
        type=latency_option,
        default={},
        metavar="SERVICE=TIME,...",
        help="delay every answer of these stand-ins (cos, s3, vod, tdmq, webhook), e.g. "
        "cos=20ms,vod=80ms,webhook=40ms, as a network between regions would (default: none)",
    )


def latency_option(text: str) -> dict[str, float]:
    from devstack.emulators.base import parse_latency

    try:
        return parse_latency(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def port_number(text: str) -> int:
    """A TCP port (0: any free one), for argparse."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 0 and 65535, got {value}")
    return value


def run(args: argparse.Namespace) -> int:
    progress = Progress()
    stop = threading.Event()
    _stop_on_signals(stop)
    try:
        check_config(args)
    except ValueError as exc:
        print(f"stack: {exc}", file=sys.stderr)
        return 1
    with contextlib.ExitStack() as cleanup:
        try:
            with progress.step("Starting the local stack"):
                stack = cleanup.enter_context(started(args))
        except OSError as exc:  # a port in use, most often
            print(f"stack: {_port_error(exc, args)}", file=sys.stderr)
            return 1
        try:
            scf = start_triggers(stack, args, echo=_to_stderr if args.json else echo_line)
        except ValueError as exc:
            print(f"stack: {exc}", file=sys.stderr)
            return 1
        if scf is not None:
            cleanup.callback(scf.stop)
            from devstack.scf.instances import ROOT, Reloader

            pools = [function.pool for function in scf.functions.values()]
            cleanup.callback(Reloader(pools, ROOT, notify=echo_line).start().stop)  # as serve does
        return serve_stack(stack, args, stop, scf)
    raise AssertionError("unreachable")  # an ExitStack never swallows a return


def serve_stack(stack: Any, args: argparse.Namespace, stop: threading.Event, scf: Any = None) -> int:
    """Print and write the environment, then wait for ``stop``; files are removed afterwards."""
    env = stack.env()
    written = []
    try:
        if args.env_file:
            written.append(write_env_file(args.env_file, env))
        if args.sam_env_vars:
            written.append(write_sam_env_vars(args.sam_env_vars, env))
        if args.json:
            print(json.dumps(env, indent=2), flush=True)
        else:
            print(format_env(env, written), flush=True)
            if scf is not None:
                print("The deployment, run locally (each invocation and delivery is printed below):")
                print("\n".join(describe_functions(scf)), flush=True)
        if stack.latency:
            delays = ", ".join(f"{name} {seconds * 1000:g} ms" for name, seconds in stack.latency.items())
            print(f"Answers delayed (--latency): {delays}", file=sys.stderr, flush=True)
        stop.wait()
    finally:
        for path in written:
            path.unlink(missing_ok=True)
    print("Stopped.", file=sys.stderr, flush=True)
    return 0


def _to_stderr(line: str) -> None:
    """With --json, stdout holds the one JSON object: the invocation lines go to stderr."""
    print(line, file=sys.stderr, flush=True)


def write_env_file(path: Path, env: Mapping[str, str]) -> Path:
    """``KEY=VALUE`` lines (values quoted only when they need it), written atomically, mode 0600."""
    lines = [f"{key}={_quoted(value)}" for key, value in env.items()]
    return _write(path, "# devstack stack: removed when the stack stops\n" + "\n".join(lines) + "\n")


def write_sam_env_vars(path: Path, env: Mapping[str, str]) -> Path:
    """``{"Parameters": {...}}``: the variables for every function of the template (SAM's format)."""
    renamed = {SAM_NAMES.get(key, key): value for key, value in env.items()}
    return _write(path, json.dumps({"Parameters": renamed}, indent=2) + "\n")


def read_env_file(path: Path) -> dict[str, str]:
    """The variables of a file written by ``write_env_file`` (what a dotenv loader reads)."""
    env = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, _, value = line.partition("=")
        env[key.strip()] = json.loads(value) if value.startswith('"') else value
    return env


def format_env(env: Mapping[str, str], written: list[Path]) -> str:
    width = max(len(key) for key in env)
    lines = ["Local stack running on 127.0.0.1 (Ctrl-C to stop). Environment for the function:"]
    lines += [f"  {key:<{width}}  {value}" for key, value in env.items()]
    lines += [f"Written: {path}" for path in written]
    return "\n".join(lines)


def _quoted(value: str) -> str:
    plain = value and all(c.isalnum() or c in "-_./:@%+,=" for c in value)
    return value if plain else json.dumps(value)


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    partial.replace(path)  # readers never see half a file
    return path


@contextlib.contextmanager
def started(args: argparse.Namespace) -> Iterator[Any]:
    """The LocalStack, started on the requested ports (0: free ones), with the sample buckets."""
    from devstack import stack as stack_module
    from devstack.stack import LocalStack

    with contextlib.ExitStack() as patches:
        if args.webhook_port:
            from devstack.emulators.webhook import WebhookReceiver as receiver

            patches.enter_context(
                _patched(stack_module, "WebhookReceiver", _on_port(receiver, args.webhook_port))
            )
        if args.s3_port:
            import moto.server

            server = moto.server.ThreadedMotoServer
            patches.enter_context(_patched(moto.server, "ThreadedMotoServer", _on_port(server, args.s3_port)))
        stack = LocalStack(
            vod_options={"port": args.vod_port} if args.vod_port else None, latency=args.latency
        )
        stack.start()
    try:
        stage_samples(stack)
        if getattr(args, "temporary_key_life", None):
            stack.use_temporary_key(args.temporary_key_life)
        yield stack
    finally:
        stack.stop()


def _on_port(factory: Callable[..., Any], port: int) -> Callable[..., Any]:
    def make(*args: Any, **kwargs: Any) -> Any:
        kwargs["port"] = port
        return factory(*args, **kwargs)

    return make


@contextlib.contextmanager
def _patched(owner: Any, name: str, value: Any) -> Iterator[None]:
    """Replace ``owner.name`` while the stack starts (LocalStack takes no ports of its own)."""
    original = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, original)


def _stop_on_signals(stop: threading.Event) -> None:
    def handle(signum: int, frame: object) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handle)


def _port_error(exc: OSError, args: argparse.Namespace) -> str:
    asked = {"--vod-port": args.vod_port, "--s3-port": args.s3_port, "--webhook-port": args.webhook_port}
    named = ", ".join(f"{flag} {port}" for flag, port in asked.items() if port) or "free ports"
    return f"could not start the local stack on {named}: {exc.strerror or exc}"
