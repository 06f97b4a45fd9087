"""The developer command line: ``python -m devstack <command>``.

Each command lives in its own module with a ``register(subparsers)`` function; add new ones to
``COMMANDS``. Every mistake a user can make ends in one line on stderr and an exit status, never a
traceback: a bad command line (status 2), Ctrl-C (status 130, after the command stopped what it
started).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import NoReturn

COMMANDS = (
    "devstack.commands.demo",
    "devstack.packaging.build",
    "devstack.commands.invoke",
    "devstack.commands.generate_event",
    "devstack.commands.serve",
    "devstack.commands.stack",
    "devstack.commands.logs",
)


class OneLineParser(argparse.ArgumentParser):
    """argparse whose errors are one line (``<prog>: <problem> (--help for usage)``), status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (--help for usage)\n")


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m devstack", description="AIGC Element Relay local tools")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    for name in COMMANDS:
        importlib.import_module(name).register(commands)
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except KeyboardInterrupt:
        print(f"{args.command}: interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
