"""The options ``stack`` and ``serve`` share to run the deployment's triggers (``devstack.scf.runtime``), and
how they start it: ``--config``, ``--tick-every``, ``--vod-events``, ``--reserved-concurrency``,
``--history``, ``--no-triggers``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from devstack.scf.history import DEFAULT_PATH, History

if TYPE_CHECKING:
    from http.server import ThreadingHTTPServer

    from devstack.scf.runtime import LocalScf
    from devstack.stack import LocalStack

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = ROOT / "serverless.yml"


def add_trigger_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("the deployment's triggers (serverless.yml)")
    group.add_argument(
        "--config",
        type=Path,
        action="append",
        help="deployment file(s) whose functions and triggers run here (default: serverless.yml; "
        "repeatable; several functions per file as YAML documents)",
    )
    group.add_argument("--no-triggers", action="store_true", help="run the stand-ins only, no function")
    group.add_argument(
        "--tick-every",
        type=positive_seconds,
        metavar="SECONDS",
        help="tick every Timer trigger this often instead of on its cron expression",
    )
    group.add_argument(
        "--vod-events",
        choices=("pull", "push", "none"),
        help="VOD's event mode (default: pull when a Timer pulls VOD's events, else push to the "
        "Function URL)",
    )
    group.add_argument(
        "--reserved-concurrency",
        action="append",
        default=[],
        metavar="[FUNCTION=]N",
        help="instances a function may run at once; more async events wait in its queue (default: 4 each)",
    )
    group.add_argument(
        "--history",
        type=Path,
        default=DEFAULT_PATH,
        help="where the stack keeps what happened (default %(default)s)",
    )


def positive_seconds(text: str) -> float:
    """A lifetime in seconds (> 0), for argparse."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, got {text}")
    return value


def reserved(values: list[str]) -> dict[str, int]:
    """``--reserved-concurrency`` values as {function or "*": instances}; ValueError naming a bad one."""
    caps = {}
    for value in values:
        name, _, count = value.rpartition("=")
        if not count.isdigit():
            raise ValueError(f"--reserved-concurrency {value!r}: give N or FUNCTION=N (N a whole number)")
        caps[name or "*"] = int(count)
    return caps


def check_config(args: argparse.Namespace) -> None:
    """Read the deployment files before anything starts: ``ValueError`` (one line) when one cannot run."""
    from devstack.scf.config import load_functions

    if not args.no_triggers:
        load_functions(args.config or [DEFAULT_CONFIG], {})


def start_triggers(
    stack: LocalStack,
    args: argparse.Namespace,
    *,
    echo: Callable[[str], None],
    url_server: ThreadingHTTPServer | None = None,
) -> LocalScf | None:
    """The deployment's functions on ``stack`` (None with ``--no-triggers``); ``ValueError`` with a
    one-line message when the configuration cannot run."""
    from devstack.scf.config import load_functions
    from devstack.scf.runtime import LocalScf

    if args.no_triggers:
        return None
    paths = args.config or [DEFAULT_CONFIG]
    functions = load_functions(paths, stack.env())
    history = History(args.history)
    scf = LocalScf(
        stack,
        functions,
        history=history,
        echo=echo,
        reserved_concurrency=reserved(args.reserved_concurrency),
        tick_every=args.tick_every,
        vod_events=args.vod_events,
        url_server=url_server,
    )
    return scf.start()


def describe_functions(scf: LocalScf) -> list[str]:
    """The banner lines: each function, its triggers, its URL; VOD's event mode; the history."""
    lines = []
    for function in scf.functions.values():
        config = function.config
        cap = function.queue.policy.reserved_concurrency
        lines.append(f"  function          {config.name} ({config.source}; {cap} instances at most)")
        for cos in config.cos:
            state = "" if cos.enabled else " (enable: false, not fired)"
            lines.append(
                f"    COS trigger     PUT cos://{cos.bucket}/{cos.prefix}*{cos.suffix} ({cos.events}){state}"
            )
        for timer in config.timers:
            every = f"every {scf.tick_every:g} s" if scf.tick_every else f"cron {timer.cron.expression}"
            state = "" if timer.enabled else " (enable: false, not ticking)"
            lines.append(f"    Timer trigger   {timer.name}: {every}, Message {timer.argument!r}{state}")
        if function.url:
            lines.append(f"    Function URL    {function.url}")
        for other in config.other_triggers:
            lines.append(f"    {other} trigger    read, not run locally")
    lines.append(f"  VOD events        {scf.vod_events}")
    lines.append(f"  history           {scf.history.path}   (python -m devstack logs [--follow])")
    return lines


def echo_line(line: str) -> None:
    print(line, flush=True)
