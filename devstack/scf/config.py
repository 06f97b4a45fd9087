"""The deployment as the local stack runs it: functions and triggers read from ``serverless.yml``
(Serverless Cloud Framework, ``component: scf``; never deployed).

One file may hold several functions as YAML documents (``---``), and ``--config`` may be given several
times. Each function's ``inputs`` give its name, memory, timeout, environment and ``events`` (its
triggers): ``cos`` (bucket domain, ``filter.prefix``/``suffix``, ``events``), ``timer``
(``cronExpression``, ``argument`` → the event's ``Message``), ``http`` (the Function URL), and the queue
triggers (``cmq``, ``ckafka``), which are read but fire only when their emulator delivers.

``${env:NAME}`` is resolved from the local stack's environment first, then from the local defaults
(``ELEMENT_BUCKET=media-1250000000``, ``REGION=ap-guangzhou``, ``STAGE=dev``), then from this process's
environment; ``${stage}``, ``${app}`` and ``${name}`` from the file itself. A variable that resolves to
nothing is left out of the function's environment, as an empty value would be on SCF.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.scf.cron import Cron

__all__ = ["ConfigError", "CosTrigger", "FunctionConfig", "TimerTrigger", "load_functions"]

LOCAL_DEFAULTS = {
    "ELEMENT_BUCKET": "media-1250000000",
    "REGION": "ap-guangzhou",
    "STAGE": "dev",
    "EXECUTION_ROLE": "ElementRelayRole",
}
_REFERENCE = re.compile(r"\$\{(env:)?([A-Za-z_][A-Za-z0-9_]*)\}")
_BUCKET_DOMAIN = re.compile(r"^(?P<bucket>[a-z0-9][a-z0-9-]*)\.cos\.(?P<region>[a-z0-9-]+)\.myqcloud\.com$")


class ConfigError(ValueError):
    """The deployment file cannot be run locally: the message names the file and the field."""


@dataclass(frozen=True)
class CosTrigger:
    """``- cos:``: uploads to ``bucket`` (``<name>-<appid>``) in ``region`` matching the filter."""

    name: str
    bucket: str
    region: str
    prefix: str
    suffix: str
    events: str
    enabled: bool

    def matches(self, bucket: str, key: str, event_name: str) -> bool:
        """True when an event ``event_name`` (``cos:ObjectCreated:Put``) on ``bucket``/``key`` fires it."""
        wanted = self.events
        kind_ok = event_name == wanted or (wanted.endswith(":*") and event_name.startswith(wanted[:-1]))
        return (
            self.enabled
            and bucket == self.bucket
            and key.startswith(self.prefix)
            and key.endswith(self.suffix)
            and kind_ok
        )


@dataclass(frozen=True)
class TimerTrigger:
    """``- timer:``: ``cron`` fires it; ``argument`` is the event's ``Message``."""

    name: str
    cron: Cron
    argument: str
    enabled: bool


@dataclass(frozen=True)
class FunctionConfig:
    """One function of the deployment."""

    name: str
    source: str
    memory_mb: int
    timeout_s: int
    env: dict[str, str]
    cos: tuple[CosTrigger, ...] = ()
    timers: tuple[TimerTrigger, ...] = ()
    http: bool = False
    other_triggers: tuple[str, ...] = field(default=())


def load_functions(paths: list[Path], environ: Mapping[str, str]) -> list[FunctionConfig]:
    """Every function of the files, with ``${...}`` resolved against ``environ`` (see the module doc)."""
    import yaml

    functions = []
    for path in paths:
        try:
            documents = [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path} is not YAML: {str(exc).splitlines()[0]}") from None
        for index, document in enumerate(documents):
            where = f"{path}" + (f" (document {index + 1})" if len(documents) > 1 else "")
            functions.append(_function(document, where, environ))
    names = [function.name for function in functions]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ConfigError(f"two functions are named {duplicates[0]!r}")
    return functions


def _function(document: Any, where: str, environ: Mapping[str, str]) -> FunctionConfig:
    if not isinstance(document, dict) or document.get("component") != "scf":
        raise ConfigError(f"{where}: not a `component: scf` deployment")
    values = {**os.environ, **LOCAL_DEFAULTS, **environ}
    own = {
        "stage": str(document.get("stage") or ""),
        "app": str(document.get("app") or ""),
        "name": str(document.get("name") or ""),
    }
    own["stage"] = _resolve(own["stage"], values, own) or "dev"

    def resolve(value: Any) -> str:
        return _resolve("" if value is None else str(value), values, own)

    inputs = document.get("inputs")
    if not isinstance(inputs, dict):
        raise ConfigError(f"{where}: `inputs` is missing")
    name = resolve(inputs.get("name")) or f"{own['name']}-{own['stage']}-{own['app']}"
    variables = ((inputs.get("environment") or {}).get("variables")) or {}
    if not isinstance(variables, dict):
        raise ConfigError(f"{where}: inputs.environment.variables must be a mapping")
    env = {str(key): resolve(value) for key, value in variables.items()}
    cos, timers, others, http = [], [], [], False
    for number, entry in enumerate(inputs.get("events") or [], start=1):
        if not isinstance(entry, dict) or len(entry) != 1:
            raise ConfigError(f"{where}: inputs.events[{number}] must be one `- <type>:` entry")
        ((kind, spec),) = entry.items()
        spec = spec or {}
        params = spec.get("parameters") or {}
        label = f"{where}: inputs.events[{number}] ({kind})"
        if kind == "cos":
            cos.append(_cos(spec, params, label, resolve))
        elif kind == "timer":
            timers.append(_timer(spec, params, label, resolve, name))
        elif kind == "http":
            http = True
        else:
            others.append(str(kind))
    return FunctionConfig(
        name=name,
        source=where,
        memory_mb=int(resolve(inputs.get("memorySize")) or 128),
        timeout_s=int(resolve(inputs.get("timeout")) or 3),
        env={key: value for key, value in env.items() if value != ""},
        cos=tuple(cos),
        timers=tuple(timers),
        http=http,
        other_triggers=tuple(others),
    )


def _cos(spec: dict[str, Any], params: dict[str, Any], label: str, resolve: Any) -> CosTrigger:
    domain = resolve(params.get("bucket"))
    match = _BUCKET_DOMAIN.match(domain)
    if match is None:
        raise ConfigError(f"{label}: bucket {domain!r} must be <name>-<appid>.cos.<region>.myqcloud.com")
    filters = params.get("filter") or {}
    return CosTrigger(
        name=resolve(spec.get("name")) or domain,
        bucket=match["bucket"],
        region=match["region"],
        prefix=resolve(filters.get("prefix")),
        suffix=resolve(filters.get("suffix")),
        events=resolve(params.get("events")) or "cos:ObjectCreated:*",
        enabled=_enabled(params.get("enable")),
    )


def _timer(
    spec: dict[str, Any], params: dict[str, Any], label: str, resolve: Any, function: str
) -> TimerTrigger:
    expression = resolve(params.get("cronExpression"))
    if not expression:
        raise ConfigError(f"{label}: parameters.cronExpression is missing")
    try:
        cron = Cron(expression)
    except ValueError as exc:
        raise ConfigError(f"{label}: {exc}") from None
    argument = resolve(params.get("argument"))
    if len(argument.encode("utf-8")) > 4096:
        raise ConfigError(f"{label}: argument is {len(argument.encode())} bytes; SCF takes at most 4 KB")
    return TimerTrigger(
        name=resolve(spec.get("name")) or f"timer-{function}",
        cron=cron,
        argument=argument,
        enabled=_enabled(params.get("enable")),
    )


def _enabled(value: Any) -> bool:
    """The component's ``enable`` (default false, per its documentation)."""
    return value is True or str(value).strip().lower() in ("true", "open", "1")


def _resolve(text: str, values: Mapping[str, str], own: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        is_env, name = match.group(1), match.group(2)
        return values.get(name, "") if is_env else own.get(name, "")

    return _REFERENCE.sub(replace, text)
