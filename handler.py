"""Entry points: ``main_handler`` for Tencent SCF (``handler.main_handler``), ``lambda_handler`` for AWS.

One function serves every trigger; the event's shape says which (``lib.sources``).
"""

from __future__ import annotations

import gc
from typing import Any

from lib import logs
from lib.errors import ConfigError
from lib.invocation import Invocation
from lib.services import Services
from lib.settings import load_settings
from lib.sources import infer_source

_cold = True  # no invocation has finished in this process yet


def main_handler(event: Any, context: Any = None) -> Any:
    """Handle one invocation of any supported trigger and answer in that trigger's shape.

    The first invocation of a process (the cold start) runs without the cyclic garbage collector: its
    lazy imports create most of the objects the process will ever hold, all long-lived, and the
    collector's passes over them (some 75 on a COS first delivery, about 20 ms of CPU here) found next to
    nothing. Once it is done they are frozen out of every later pass (``gc.freeze``), and the collector
    is back on. A process that has the collector off already is left as it is.
    """
    global _cold
    if not (_cold and gc.isenabled()):
        return _handle(event, context)
    gc.disable()
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
