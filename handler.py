"""Entry points: ``main_handler`` for Tencent SCF (``handler.main_handler``), ``lambda_handler`` for AWS.

One function serves every trigger; the event's shape says which (``lib.sources``).
"""

from __future__ import annotations

import gc
from typing import Any

# The cold start, from this import to the end of the first invocation, runs without the cyclic garbage
# collector (main_handler says why); lib's imports below are its first part. A process that had the
# collector off keeps it off.
_cold = gc.isenabled()
gc.disable()

from lib import logs  # noqa: E402
from lib.errors import ConfigError  # noqa: E402
from lib.invocation import Invocation  # noqa: E402
from lib.services import Services  # noqa: E402
from lib.settings import load_settings  # noqa: E402
from lib.sources import infer_source  # noqa: E402


def main_handler(event: Any, context: Any = None) -> Any:
    """Handle one invocation of any supported trigger and answer in that trigger's shape.

    The cold start (this module's import and the first invocation) runs without the cyclic garbage
    collector: its imports create most of the objects the process will ever hold, all long-lived, and
    the collector's passes over them (some 70 on a COS first delivery, about 18 ms of CPU here) found
    next to nothing. When the first invocation ends, whatever its outcome, they are frozen out of every
    later pass (``gc.freeze``) and the collector is back on.
    """
    global _cold
    if not _cold:
        return _handle(event, context)
    try:
        return _handle(event, context)
    finally:
        _cold = False
        gc.freeze()
        gc.enable()


def _handle(event: Any, context: Any) -> Any:
    invocation = Invocation.from_context(context)
    source = infer_source(event)
    try:
        settings = load_settings()
    except ConfigError as exc:
        unavailable = getattr(source, "unavailable", None)  # HTTP answers 503; every other kind raises
        if unavailable is None:
            raise
        return unavailable(exc)
    logs.configure(settings.log_level)
    services = Services(settings, invocation)
    try:
        return source.handle(event, services)
    finally:
        services.join()  # no thread of this invocation runs on once the platform may freeze the process


lambda_handler = main_handler
