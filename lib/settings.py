"""Configuration from the environment (docs/contracts.md §2), validated once per distinct environment.

Settings are cached on the exact values of the variables they read, so a warm container pays for
validation once, and a changed environment (tests, a redeploy) is never served stale values.
Credentials are not settings: they rotate, and are read on every invocation (``read_credentials``).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from lib.errors import ConfigError
from lib.records import Record

if TYPE_CHECKING:
    import requests

DEFAULT_VOD_ENDPOINT = "vod.intl.tencentcloudapi.com"
# TDMQ for CMQ's HTTP data-flow API (docs/queues-and-quota.md, "The data-flow API")
CMQ_DEFAULT_PATH = "/v2/index.php"  # the path of every data-flow request in Tencent's documents and SDKs
DEFAULT_CMQ_MAX_MSG_SIZE = (
    65536  # the smaller documented MaxMsgSize maximum (CreateCmqTopic; queues: 64 KB or 1 MB)
)
MIN_CMQ_MAX_MSG_SIZE, MAX_CMQ_MAX_MSG_SIZE = 1024, 1048576  # the documented MaxMsgSize range
DEFAULT_CMQ_RATE_LIMIT = 5000.0  # data-flow calls per second per queue or topic (TDMQ for CMQ "Use Limits")
DEFAULT_DRAIN_MAX_RECEIVES = 5  # a job received this often and still failing is given up (element.failed)
DEFAULT_DRAIN_POLL_SECONDS = 3  # long-polling wait of BatchReceiveMessage (Tencent recommends at most 3 s)
DEFAULT_DRAIN_QUEUE_RETENTION = 3600  # the queue's MsgRetentionSeconds: API 3.0's default, 1 hour
MIN_QUEUE_RETENTION, MAX_QUEUE_RETENTION = 30, 43200  # MsgRetentionSeconds: 30 s to 12 h
MIN_RELAY_JOB_KEY = 16  # characters of each RELAY_JOB_SECRET key
DEFAULT_ELEMENT_PREFIX = "elements/"
DEFAULT_RECEIPT_PREFIX = ".element-receipts/"
DEFAULT_MEDIA_URL_EXPIRES = 86400
MAX_MEDIA_URL_EXPIRES = 7 * 86400  # the longest a SigV4 presigned URL may live
DEFAULT_VOD_RATE_LIMIT = 20.0  # CreateAigcAdvancedCustomElement: 20 requests/second per account
DEFAULT_BATCH_CONCURRENCY = 8
MAX_BATCH_CONCURRENCY = 10  # the HTTP connection pools (requests, botocore) hold 10 connections each

SETTING_NAMES = (
    "VOD_ENDPOINT",
    "VOD_REGION",
    "TENCENTCLOUD_REGION",
    "VOD_SUBAPP_ID",
    "CALLBACK_URL",
    "CALLBACK_SECRET",
    "CALLBACK_ALLOWED_HOSTS",
    "STORAGE_ENDPOINT_URL",
    "COS_ENDPOINT_URL",
    "S3_ENDPOINT_URL",
    "STORAGE_SIGNATURE_VERSION",
    "ELEMENT_PREFIX",
    "RECEIPT_PREFIX",
    "RECEIPT_BUCKET",
    "MEDIA_URL_EXPIRES",
    "PUBLIC_BASE_URL",
    "API_TOKEN",
    "VOD_EVENT_SIGN_KEY",
    "LOG_LEVEL",
    "AWS_LAMBDA_FUNCTION_NAME",
    "SUBMIT_MODE",
    "SUBMIT_QUEUE_URL",
    "SUBMIT_QUEUE_REGION",
    "VOD_RATE_LIMIT",
    "BATCH_CONCURRENCY",
    "CMQ_ENDPOINT",
    "CMQ_MAX_MSG_SIZE",
    "CMQ_RATE_LIMIT",
    "DRAIN_QUEUE_URL",
    "DRAIN_MAX_RECEIVES",
    "DRAIN_POLL_SECONDS",
    "DRAIN_QUEUE_RETENTION",
    "RELAY_JOB_SECRET",
    "MEDIA_PREFLIGHT",
    "MEDIA_BUCKETS",
    "VOD_PULL_OTHER_EVENTS",
)


class Settings(Record):
    """Every setting the function reads, typed and validated."""

    vod_endpoint: str  # host[:port], no scheme
    vod_scheme: Literal["https", "http"]
    vod_region: str | None
    vod_subapp_id: int | None
    callback_url: str | None
    callback_secret: str | None
    callback_allowed_hosts: frozenset[str]
    cos_endpoint_url: str | None  # COS_ENDPOINT_URL, else STORAGE_ENDPOINT_URL: a local COS stand-in
    s3_endpoint_url: str | None  # S3_ENDPOINT_URL, else STORAGE_ENDPOINT_URL
    storage_signature_version: Literal["s3v4", "s3"]  # S3 only; COS is always signed by COS's scheme
    element_prefix: str
    receipt_prefix: str
    receipt_bucket: str | None
    media_url_expires: int
    public_base_url: str | None
    api_token: str | None
    vod_event_sign_key: str | None
    default_region: str | None
    log_level: str
    receipt_storage: Literal["cos", "s3"] = "cos"  # flavour of RECEIPT_BUCKET: S3 on AWS Lambda
    submit_mode: Literal["direct", "queue"] = "direct"  # queue: enqueue element jobs (CMQ or SQS)
    submit_queue_url: str | None = None
    submit_queue_region: str | None = None  # SQS only: None: from the URL, else boto3's default
    vod_rate_limit: float = DEFAULT_VOD_RATE_LIMIT  # CreateAigcAdvancedCustomElement calls/s per container
    batch_concurrency: int = DEFAULT_BATCH_CONCURRENCY  # records of one batch processed at once
    cmq_endpoint: CmqEndpoint | None = (
        None  # CMQ_ENDPOINT: the data-flow address (cmq-topic://, cmq-queue://)
    )
    cmq_max_msg_size: int = DEFAULT_CMQ_MAX_MSG_SIZE  # bytes of one message body (the MaxMsgSize set)
    cmq_rate_limit: float = DEFAULT_CMQ_RATE_LIMIT  # data-flow calls/s per queue or topic, per container
    drain_queue: str | None = None  # DRAIN_QUEUE_URL's queue name: what a Timer with Message "drain" drains
    drain_max_receives: int = DEFAULT_DRAIN_MAX_RECEIVES  # dequeueCount at which a failing job is given up
    drain_poll_seconds: int = DEFAULT_DRAIN_POLL_SECONDS  # BatchReceiveMessage pollingWaitSeconds
    drain_queue_retention: int = DEFAULT_DRAIN_QUEUE_RETENTION  # the queue's MsgRetentionSeconds
    relay_job_keys: tuple[str, ...] = ()  # RELAY_JOB_SECRET: the first signs relay jobs, any verifies
    media_preflight: bool = True  # check media against VOD's documented rules before the call
    media_buckets: frozenset[str] = frozenset()  # buckets cos:// and s3:// references may name
    vod_pull_other_events: Literal["confirm", "leave"] = "confirm"  # pulled events that are not ours

    def missing(self) -> list[str]:
        """Names of optional settings left unset that users usually want (for health checks)."""
        wanted = {
            "CALLBACK_URL": self.callback_url,
            "CALLBACK_SECRET": self.callback_secret,
            "VOD_SUBAPP_ID": self.vod_subapp_id,
            "RECEIPT_BUCKET": self.receipt_bucket,
        }
        return [name for name, value in wanted.items() if value in (None, "")]


class CmqEndpoint(Record):
    """Where TDMQ for CMQ's data-flow API answers: ``<scheme>://<host>[:port]<path>``."""

    scheme: Literal["https", "http"]
    host: str  # host[:port], as signed (the SDKs sign the configured address without its scheme)
    path: str = CMQ_DEFAULT_PATH

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}{self.path}"


class Credentials(Record):
    """Tencent Cloud API credentials of this invocation (temporary ones carry a token)."""

    secret_id: str
    secret_key: str
    token: str | None

    def __repr__(self) -> str:  # never print the key or the token
        return f"Credentials(secret_id={self.secret_id[:4]}…, token={'set' if self.token else 'none'})"


def requests_reads_environment(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``requests`` must read the environment for each request: it holds a proxy (any ``*_proxy``
    variable, in any case, as ``urllib.request.getproxies`` reads them on Linux) or a netrc file
    (``NETRC``, ``~/.netrc``, ``~/_netrc``).

    When it holds neither, a session with ``trust_env`` off and ``verify`` set to the CA bundle the
    environment names (``requests_ca_bundle``) sends the very same requests without reading the whole
    environment twice for each one (about 0.6 ms a request here, with 80 variables)."""
    env = os.environ if environ is None else environ
    if any(value and name.lower().endswith("_proxy") for name, value in env.items()):
        return True
    if env.get("NETRC"):
        return True
    from pathlib import Path  # here: read once per container, when a session is made

    home = Path("~").expanduser()
    return any((home / name).exists() for name in (".netrc", "_netrc"))


def requests_ca_bundle(environ: Mapping[str, str] | None = None) -> str | None:
    """The CA bundle ``requests`` verifies TLS with when the environment names one: ``REQUESTS_CA_BUNDLE``,
    else ``CURL_CA_BUNDLE`` (its own order; an empty value names none)."""
    env = os.environ if environ is None else environ
    return env.get("REQUESTS_CA_BUNDLE") or env.get("CURL_CA_BUNDLE") or None


def requests_session_environment(session: requests.Session, environ: Mapping[str, str] | None = None) -> None:
    """Give a container's ``requests`` session what it would read from the environment for each request,
    once: ``trust_env`` stays on only where a proxy or a netrc file must be read each time; the CA bundle
    is its ``verify`` either way (with ``trust_env`` on, ``requests`` would pick the same one)."""
    session.trust_env = requests_reads_environment(environ)
    session.verify = requests_ca_bundle(environ) or True


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """The settings of this environment; raises ConfigError naming the variable and the rule."""
    env = os.environ if environ is None else environ
    return _parse(tuple(env.get(name) for name in SETTING_NAMES))


def read_credentials(environ: Mapping[str, str] | None = None) -> Credentials:
    """Credentials from SCF's names, falling back to the SDK's names (local runs, AWS Lambda)."""
    env = os.environ if environ is None else environ
    for id_name, key_name, token_name in (
        ("TENCENTCLOUD_SECRETID", "TENCENTCLOUD_SECRETKEY", "TENCENTCLOUD_SESSIONTOKEN"),
        ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY", "TENCENTCLOUD_SESSION_TOKEN"),
    ):
        secret_id, secret_key = env.get(id_name, "").strip(), env.get(key_name, "").strip()
        if secret_id and secret_key:
            return Credentials(secret_id, secret_key, env.get(token_name, "").strip() or None)
    raise ConfigError(
        "no Tencent Cloud credentials: set TENCENTCLOUD_SECRETID and TENCENTCLOUD_SECRETKEY "
        "(SCF sets them from the execution role) or TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY"
    )


@functools.lru_cache(maxsize=8)
def _parse(values: tuple[str | None, ...]) -> Settings:
    raw = {
        name: (value.strip() if value is not None else "")
        for name, value in zip(SETTING_NAMES, values, strict=True)
    }
    endpoint, scheme = _vod_endpoint(raw["VOD_ENDPOINT"] or DEFAULT_VOD_ENDPOINT)
    element_prefix = _prefix("ELEMENT_PREFIX", raw["ELEMENT_PREFIX"], DEFAULT_ELEMENT_PREFIX)
    receipt_prefix = _prefix("RECEIPT_PREFIX", raw["RECEIPT_PREFIX"], DEFAULT_RECEIPT_PREFIX)
    if not receipt_prefix:
        raise ConfigError("RECEIPT_PREFIX must not be empty: receipts need a folder of their own")
    if element_prefix and (
        receipt_prefix.startswith(element_prefix) or element_prefix.startswith(receipt_prefix)
    ):
        raise ConfigError(
            f"RECEIPT_PREFIX ({receipt_prefix!r}) must lie outside ELEMENT_PREFIX ({element_prefix!r}): "
            "receipts written under the trigger's prefix would make the function trigger itself"
        )
    fallback_endpoint = _url("STORAGE_ENDPOINT_URL", raw["STORAGE_ENDPOINT_URL"])
    signature = raw["STORAGE_SIGNATURE_VERSION"] or "s3v4"
    if signature not in ("s3v4", "s3"):
        raise ConfigError(f"STORAGE_SIGNATURE_VERSION must be 's3v4' or 's3', got {signature!r}")
    expires = _int("MEDIA_URL_EXPIRES", raw["MEDIA_URL_EXPIRES"], None) or DEFAULT_MEDIA_URL_EXPIRES
    if not 60 <= expires <= MAX_MEDIA_URL_EXPIRES:
        raise ConfigError(f"MEDIA_URL_EXPIRES must be between 60 and {MAX_MEDIA_URL_EXPIRES} seconds")
    subapp = _int("VOD_SUBAPP_ID", raw["VOD_SUBAPP_ID"], None)
    if subapp is not None and subapp <= 0:
        raise ConfigError("VOD_SUBAPP_ID must be a positive integer")
    log_level = (raw["LOG_LEVEL"] or "INFO").upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {log_level!r}")
    return Settings(
        vod_endpoint=endpoint,
        vod_scheme=scheme,
        vod_region=raw["VOD_REGION"] or raw["TENCENTCLOUD_REGION"] or None,
        vod_subapp_id=subapp,
        callback_url=_url("CALLBACK_URL", raw["CALLBACK_URL"]),
        callback_secret=raw["CALLBACK_SECRET"] or None,
        callback_allowed_hosts=frozenset(
            h.strip().lower() for h in raw["CALLBACK_ALLOWED_HOSTS"].split(",") if h.strip()
        ),
        cos_endpoint_url=_url("COS_ENDPOINT_URL", raw["COS_ENDPOINT_URL"]) or fallback_endpoint,
        s3_endpoint_url=_url("S3_ENDPOINT_URL", raw["S3_ENDPOINT_URL"]) or fallback_endpoint,
        storage_signature_version="s3v4" if signature == "s3v4" else "s3",
        element_prefix=element_prefix,
        receipt_prefix=receipt_prefix,
        receipt_bucket=raw["RECEIPT_BUCKET"] or None,
        media_url_expires=expires,
        public_base_url=(_url("PUBLIC_BASE_URL", raw["PUBLIC_BASE_URL"]) or "").rstrip("/") or None,
        api_token=raw["API_TOKEN"] or None,
        vod_event_sign_key=raw["VOD_EVENT_SIGN_KEY"] or None,
        default_region=raw["TENCENTCLOUD_REGION"] or raw["VOD_REGION"] or None,
        log_level=log_level,
        receipt_storage="s3" if raw["AWS_LAMBDA_FUNCTION_NAME"] else "cos",
        media_preflight=_on_off("MEDIA_PREFLIGHT", raw["MEDIA_PREFLIGHT"], default=True),
        **_queue_settings(raw),
        **_boundary_settings(raw),
    )


def _boundary_settings(raw: Mapping[str, str]) -> dict[str, Any]:
    """MEDIA_BUCKETS and VOD_PULL_OTHER_EVENTS, validated."""
    buckets = frozenset(b.strip() for b in raw["MEDIA_BUCKETS"].split(",") if b.strip())
    for bucket in buckets:
        if not 3 <= len(bucket) <= 63 or not all((c.isascii() and c.isalnum()) or c in "-." for c in bucket):
            raise ConfigError(f"MEDIA_BUCKETS must be comma-separated bucket names, got {bucket[:70]!r}")
    other = (raw["VOD_PULL_OTHER_EVENTS"] or "confirm").lower()
    if other not in ("confirm", "leave"):
        raise ConfigError(f"VOD_PULL_OTHER_EVENTS must be 'confirm' or 'leave', got {other[:40]!r}")
    return {"media_buckets": buckets, "vod_pull_other_events": other}


def _queue_settings(raw: Mapping[str, str]) -> dict[str, Any]:
    """SUBMIT_MODE, SUBMIT_QUEUE_URL/REGION, VOD_RATE_LIMIT and BATCH_CONCURRENCY, validated; then the
    data-flow settings (``_cmq_settings``)."""
    mode = (raw["SUBMIT_MODE"] or "direct").lower()
    if mode not in ("direct", "queue"):
        raise ConfigError(f"SUBMIT_MODE must be 'direct' or 'queue', got {mode!r}")
    queue_url = _queue_url(raw["SUBMIT_QUEUE_URL"])
    if mode == "queue" and queue_url is None:
        raise ConfigError(
            "SUBMIT_QUEUE_URL must be set when SUBMIT_MODE is 'queue' "
            "(cmq-queue://<queue>, cmq-topic://<topic> or an SQS queue URL)"
        )
    try:
        rate = float(raw["VOD_RATE_LIMIT"]) if raw["VOD_RATE_LIMIT"] else DEFAULT_VOD_RATE_LIMIT
    except ValueError as exc:
        raise ConfigError(f"VOD_RATE_LIMIT must be a number, got {raw['VOD_RATE_LIMIT']!r}") from exc
    if not 0 < rate <= 1000:  # also refuses nan
        raise ConfigError("VOD_RATE_LIMIT must be more than 0 and at most 1000 requests per second")
    concurrency = _int("BATCH_CONCURRENCY", raw["BATCH_CONCURRENCY"], DEFAULT_BATCH_CONCURRENCY)
    if concurrency is None or not 1 <= concurrency <= MAX_BATCH_CONCURRENCY:
        raise ConfigError(f"BATCH_CONCURRENCY must be between 1 and {MAX_BATCH_CONCURRENCY}")
    return {
        "submit_mode": mode,
        "submit_queue_url": queue_url,
        "submit_queue_region": raw["SUBMIT_QUEUE_REGION"] or None,
        "vod_rate_limit": rate,
        "batch_concurrency": concurrency,
        **_cmq_settings(raw, mode, queue_url),
    }


def _cmq_settings(raw: Mapping[str, str], mode: str, queue_url: str | None) -> dict[str, Any]:
    """CMQ_ENDPOINT, CMQ_MAX_MSG_SIZE, CMQ_RATE_LIMIT, DRAIN_* and RELAY_JOB_SECRET, validated. The
    endpoint is required wherever a cmq-*:// URL is used; the relay-job key wherever relay jobs are
    written or drained (SUBMIT_MODE=queue, DRAIN_QUEUE_URL): SECURITY.md, "Relay jobs"."""
    drain_url = raw["DRAIN_QUEUE_URL"]
    drain_queue: str | None = None
    if drain_url:
        if not drain_url.startswith("cmq-queue://"):
            raise ConfigError(f"DRAIN_QUEUE_URL must be cmq-queue://<queue>, got {drain_url[:80]!r}")
        drain_queue = _cmq_name("DRAIN_QUEUE_URL", drain_url)
    endpoint = _cmq_endpoint(raw["CMQ_ENDPOINT"])
    uses_cmq = drain_queue is not None or bool(queue_url and queue_url.startswith(CMQ_SCHEMES))
    if uses_cmq and endpoint is None:
        raise ConfigError(
            "CMQ_ENDPOINT must be set for cmq-queue:// and cmq-topic:// URLs: the data-flow address the "
            "TDMQ for CMQ console shows for the region (private "
            "http://<region>.mqadapter.cmq.tencentyun.com, or public https://cmq-<region>.public.tencenttdmq.com)"
        )
    size = _int("CMQ_MAX_MSG_SIZE", raw["CMQ_MAX_MSG_SIZE"], DEFAULT_CMQ_MAX_MSG_SIZE)
    if size is None or not MIN_CMQ_MAX_MSG_SIZE <= size <= MAX_CMQ_MAX_MSG_SIZE:
        raise ConfigError(
            f"CMQ_MAX_MSG_SIZE must be the MaxMsgSize of the queue or topic, {MIN_CMQ_MAX_MSG_SIZE} to "
            f"{MAX_CMQ_MAX_MSG_SIZE} bytes"
        )
    try:
        cmq_rate = float(raw["CMQ_RATE_LIMIT"]) if raw["CMQ_RATE_LIMIT"] else DEFAULT_CMQ_RATE_LIMIT
    except ValueError as exc:
        raise ConfigError(f"CMQ_RATE_LIMIT must be a number, got {raw['CMQ_RATE_LIMIT'][:40]!r}") from exc
    if not 0 < cmq_rate <= 100000:
        raise ConfigError("CMQ_RATE_LIMIT must be more than 0 and at most 100000 requests per second")
    receives = _int("DRAIN_MAX_RECEIVES", raw["DRAIN_MAX_RECEIVES"], DEFAULT_DRAIN_MAX_RECEIVES)
    if receives is None or not 1 <= receives <= 1000:
        raise ConfigError("DRAIN_MAX_RECEIVES must be between 1 and 1000 (as CMQ's MaxReceiveCount)")
    poll = _int("DRAIN_POLL_SECONDS", raw["DRAIN_POLL_SECONDS"], DEFAULT_DRAIN_POLL_SECONDS)
    if poll is None or not 0 <= poll <= 30:
        raise ConfigError(
            "DRAIN_POLL_SECONDS must be between 0 and 30 (BatchReceiveMessage pollingWaitSeconds)"
        )
    retention = _int("DRAIN_QUEUE_RETENTION", raw["DRAIN_QUEUE_RETENTION"], DEFAULT_DRAIN_QUEUE_RETENTION)
    if retention is None or not MIN_QUEUE_RETENTION <= retention <= MAX_QUEUE_RETENTION:
        raise ConfigError(
            "DRAIN_QUEUE_RETENTION must be the queue's MsgRetentionSeconds, "
            f"{MIN_QUEUE_RETENTION} to {MAX_QUEUE_RETENTION} seconds"
        )
    keys = tuple(k.strip() for k in raw["RELAY_JOB_SECRET"].split(",") if k.strip())
    if any(len(k) < MIN_RELAY_JOB_KEY for k in keys):
        raise ConfigError(
            f"RELAY_JOB_SECRET must be comma-separated keys of at least {MIN_RELAY_JOB_KEY} characters each "
            "(the first signs relay jobs, any verifies)"
        )
    if not keys and (mode == "queue" or drain_queue is not None):
        raise ConfigError(
            "RELAY_JOB_SECRET must be set when SUBMIT_MODE is 'queue' or DRAIN_QUEUE_URL is set: relay jobs "
            "carry an HMAC under it, and a drainer refuses every job it cannot verify (SECURITY.md)"
        )
    return {
        "cmq_endpoint": endpoint,
        "cmq_max_msg_size": size,
        "cmq_rate_limit": cmq_rate,
        "drain_queue": drain_queue,
        "drain_max_receives": receives,
        "drain_poll_seconds": poll,
        "drain_queue_retention": retention,
        "relay_job_keys": keys,
    }


def _cmq_endpoint(value: str) -> CmqEndpoint | None:
    """CMQ_ENDPOINT: an http(s) URL; its path, when it has one, replaces /v2/index.php."""
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(
            "CMQ_ENDPOINT must be an http(s) URL such as http://gz.mqadapter.cmq.tencentyun.com, "
            f"got {value[:80]!r}"
        )
    if parts.username or parts.password:
        raise ConfigError("CMQ_ENDPOINT must not carry credentials: the function signs with its own keys")
    path = parts.path if parts.path not in ("", "/") else CMQ_DEFAULT_PATH
    return CmqEndpoint("https" if parts.scheme == "https" else "http", parts.netloc, path)


CMQ_SCHEMES = ("cmq-topic://", "cmq-queue://")
# TDMQ for CMQ topic and queue names: up to 64 characters, a letter first, then letters, digits, - and _
_CMQ_NAME = r"[A-Za-z][A-Za-z0-9_-]{0,63}"  # compiled (and cached) by re at first use


def _queue_url(value: str) -> str | None:
    """SUBMIT_QUEUE_URL: cmq-topic://<topic>, cmq-queue://<queue>, or an http(s) (SQS) queue URL."""
    if not value.startswith(CMQ_SCHEMES):
        return _url("SUBMIT_QUEUE_URL", value)
    _cmq_name("SUBMIT_QUEUE_URL", value)
    return value


def _cmq_name(name: str, value: str) -> str:
    """The topic or queue name of a cmq-*:// URL; ConfigError naming the variable and the rule."""
    queue = value.split("://", 1)[1]
    if not re.fullmatch(_CMQ_NAME, queue):
        raise ConfigError(
            f"{name} {value[:80]!r}: a CMQ queue or topic name has 1 to 64 letters, digits, '-' or '_' "
            "and starts with a letter"
        )
    return queue


def _vod_endpoint(value: str) -> tuple[str, Literal["https", "http"]]:
    return _endpoint("VOD_ENDPOINT", value)


def _endpoint(name: str, value: str) -> tuple[str, Literal["https", "http"]]:
    """A Tencent Cloud API endpoint: a host (https), or an http(s) URL without a path (local emulators)."""
    if "://" not in value:
        if "/" in value or not value:
            raise ConfigError(f"{name} must be a host or an http(s) URL, got {value!r}")
        return value, "https"
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise ConfigError(f"{name} must be a host or an http(s) URL without a path, got {value!r}")
    return parts.netloc, "https" if parts.scheme == "https" else "http"


def _prefix(name: str, value: str, default: str) -> str:
    prefix = value if value else default
    if prefix.startswith("/") or ".." in prefix.split("/"):
        raise ConfigError(f"{name} must be a relative key prefix such as {default!r}, got {prefix!r}")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return prefix


def _on_off(name: str, value: str, *, default: bool) -> bool:
    if not value:
        return default
    if value.lower() not in ("on", "off"):
        raise ConfigError(f"{name} must be 'on' or 'off', got {value!r}")
    return value.lower() == "on"


def _int(name: str, value: str, default: int | None) -> int | None:
    if not value:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {value!r}") from exc


def _url(name: str, value: str) -> str | None:
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name} must be an http(s) URL with a host")
    return value
