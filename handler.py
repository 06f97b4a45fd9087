"""Entry points: ``main_handler`` for Tencent SCF (``handler.main_handler``), ``lambda_handler`` for AWS.

One function serves every trigger; the event's shape says which (``lib.sources``).
"""

from __future__ import annotations

from typing import Any

from lib import logs
from lib.errors import ConfigError
from lib.invocation import Invocation
from lib.services import Services
from lib.settings import load_settings
from lib.sources import infer_source


def main_handler(event: Any, context: Any = None) -> Any:
    """Handle one invocation of any supported trigger and answer in that trigger's shape."""
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
