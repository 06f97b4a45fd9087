"""The developer command line: ``python -m devstack <command>``.

Each command lives in its own module with a ``register(subparsers)`` function; add new ones to
``COMMANDS``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = (
    "devstack.commands.demo",
    "devstack.packaging.build",
    "devstack.commands.invoke",
    "devstack.commands.generate_event",
    "devstack.commands.serve",
    "devstack.commands.stack",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack", description="AIGC Element Relay local tools")
    commands = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(name).register(commands)
    args = parser.parse_args(argv)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
