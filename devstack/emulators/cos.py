"""A COS stand-in on 127.0.0.1: COS's XML API for virtual-hosted buckets, with COS signatures checked.

It is the independent check of how the function talks to COS (docs/contracts.md §7), so it imports nothing
from ``lib/`` and not the COS SDK either: it verifies what ``cos-python-sdk-v5`` (or anyone) signs from
the written rules. The bucket comes from the ``Host`` header (``<bucket>.cos.<region>.myqcloud.com``), as
``CosConfig(IP=..., Port=..., Scheme="http")`` sends it; the objects live in moto's S3 server behind it,
so what tests stage with boto3 is visible here under the same bucket name, and the other way round.

    with CosStandIn(s3_endpoint=moto_url, credentials={"AKIDlocal": ("secret-key", "token")}) as cos:
        cos.mode = "s3"             # conditional semantics: "cos" (default), "s3" or "none"
        ...                         # CosConfig(Region="ap-guangzhou", ..., IP="127.0.0.1", Port=cos.port)
        assert cos.refused == []    # no request was refused by the signature check

Operations: GET Object (``Range`` gives 206 with ``Content-Range``), HEAD Object, PUT Object
(``Content-MD5`` checked when sent), DELETE Object, GET Bucket (list, with ``encoding-type=url``) and
HEAD Bucket. Other sub-resources answer 501 ``NotImplemented``.

Every request is authenticated (there are no public buckets here): the ``Authorization`` header or the
``q-*`` parameters of a presigned URL must carry ``q-sign-algorithm=sha1``, a known ``q-ak``, a
``q-sign-time`` equal to ``q-key-time`` (both are the one ``KeyTime`` of COS's "Request Signature"
document) whose window contains now, and a ``q-signature`` over exactly the listed headers and
parameters, joined in sorted order of their lower-cased, URL-encoded names as that document builds
``HttpParameters`` and ``HttpHeaders`` (whatever order ``q-header-list`` and ``q-url-param-list`` give);
when the credentials of ``q-ak`` carry a session token, ``x-cos-security-token`` (header, or parameter of
a presigned URL) must equal it.

Temporary keys expire: ``issue_temporary_key(life)`` makes a key whose token stops working ``life``
seconds later (COS's FAQ: a temporary key lives 30 minutes by default, at most 2 hours for a root
account; "requests carrying an expired temporary key will be denied"). Any request or presigned URL
signed with it is refused from then on, whatever its own ``q-sign-time`` says. ``advance(seconds)`` moves
the stand-in's clock.

Refusals answer COS's error XML: ``AccessDenied`` (anonymous, malformed, expired or not yet valid, an
expired temporary key: COS's exact code for that is not in the reference), ``InvalidAccessKeyId``
(unknown key, missing or wrong token: likewise), ``SignatureDoesNotMatch``; all 403.

Conditional PUT semantics, switchable at run time with ``mode``:
- ``cos``: ``x-cos-forbid-overwrite: true`` on an existing key answers 409 ``FileAlreadyExists``;
  ``If-Match``/``If-None-Match`` on PUT are ignored (COS documents neither for PUT Object);
- ``s3``: ``If-None-Match: *`` on an existing key, or an ``If-Match`` that does not match, answers 412
  ``PreconditionFailed`` (``If-Match`` on a missing key: 404 ``NoSuchKey``); forbid-overwrite is ignored;
- ``none``: every condition is ignored (a bucket that ever had versioning).
Checks and writes of one key happen under one lock, so concurrent creates give exactly one success.

Cross-origin requests (COS's "OPTIONS Object" and "PUT Bucket cors" documents): a bucket's CORS
configuration is set with ``PUT /?cors`` (XML ``CORSConfiguration``, 1 to 100 ``CORSRule``, at most 64
KB; it replaces the rules), read with ``GET /?cors`` (404 ``NoSuchCORSConfiguration`` when none),
removed with ``DELETE /?cors``, or set directly with ``set_cors(bucket, [CorsRule(...)])``; rules are
kept across ``reset()``, like a bucket's settings. A preflight ``OPTIONS`` (any key of the bucket's
domain, never signed) with ``Origin`` and ``Access-Control-Request-Method`` is answered 200 with
``Access-Control-Allow-Origin`` (``*`` when the rule says ``*``, else the request's origin),
``-Allow-Methods``, ``-Allow-Headers`` (the requested ones), ``-Expose-Headers`` and ``-Max-Age`` from
the first rule whose origin (one ``*`` wildcard at most), method and every requested header (``*``
wildcard) match; with no configuration or no matching rule COS answers 403 and the browser stops (the
error code is not in those documents: ``AccessForbidden`` here). Any other request with an ``Origin`` a
rule allows for its method gets ``Access-Control-Allow-Origin`` and ``-Expose-Headers`` on its answer,
errors included.

Run in the foreground: ``python -m devstack.emulators.cos --s3-endpoint URL --secret-id X --secret-key Y``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Any, cast
from urllib.parse import parse_qsl, quote, unquote
from xml.sax.saxutils import escape

from devstack.emulators.base import (
    LocalService,
    StandInHandler,
    StandInServer,
    run_in_foreground,
    standin_parser,
)

__all__ = [
    "MODES",
    "CorsRule",
    "CosPut",
    "CosRequest",
    "CosStandIn",
    "TemporaryKey",
    "bucket_domain",
    "main",
    "parse_bucket_host",
]

MODES = ("cos", "s3", "none")
CORS_METHODS = ("GET", "PUT", "POST", "DELETE", "HEAD")
MAX_CORS_RULES = 100  # "PUT Bucket cors": up to 100 CORSRule, an XML body of at most 64 KB
MAX_CORS_BYTES = 64 * 1024
SIGNED_FIELDS = (
    "q-sign-algorithm",
    "q-ak",
    "q-sign-time",
    "q-key-time",
    "q-header-list",
    "q-url-param-list",
    "q-signature",
)
TOKEN_NAME = "x-cos-security-token"  # noqa: S105 (a header name)
MAX_PUT_BYTES = 5 * 1024**3  # COS's limit for a simple upload
MAX_KEYS = 1000
CHUNK = 64 * 1024
UNRESERVED = "-_.~"  # what COS's canonical form leaves unencoded
# Sub-resources the stand-in does not serve: answered 501 rather than treated as a plain object request.
SUBRESOURCES = frozenset(
    {
        "acl",
        "append",
        "cors",
        "delete",
        "lifecycle",
        "partnumber",
        "policy",
        "referer",
        "restore",
        "select",
        "tagging",
        "uploadid",
        "uploads",
        "versionid",
        "versioning",
        "versions",
        "website",
    }
)
_BUCKET_HOST = re.compile(
    r"^(?P<bucket>[a-z0-9][a-z0-9-]*)\.cos\.(?P<region>[a-z0-9-]+)\.(?:myqcloud\.com|tencentcos\.cn)$"
)


def parse_bucket_host(host: str) -> tuple[str, str] | None:
    """``(bucket, region)`` of a COS bucket domain (a port is ignored); None for any other host."""
    name = host.strip().lower().rsplit(":", 1)[0] if host.count(":") == 1 else host.strip().lower()
    match = _BUCKET_HOST.match(name)
    return (match["bucket"], match["region"]) if match else None


def bucket_domain(bucket: str, region: str) -> str:
    """``<bucket>.cos.<region>.myqcloud.com``, the virtual-hosted domain of a bucket."""
    return f"{bucket}.cos.{region}.myqcloud.com"


@dataclass(frozen=True)
class CosRequest:
    """One request received: ``key`` is decoded ("" for bucket requests); ``auth`` is ``"header"``,
    ``"query"`` (a presigned URL) or ``None`` (anonymous); ``error_code`` is None on success."""

    method: str
    bucket: str | None
    key: str
    status: int
    error_code: str | None
    message: str = ""
    auth: str | None = None


@dataclass(frozen=True)
class CosPut:
    """An object written by a successful PUT Object: what a COS event notification reports."""

    bucket: str
    key: str
    size: int
    etag: str
    request_id: str
    content_type: str


@dataclass(frozen=True)
class CorsRule:
    """One ``CORSRule`` of a bucket's CORS configuration (COS's "PUT Bucket cors"): origins may hold one
    ``*`` wildcard each, methods are GET, PUT, POST, DELETE or HEAD, headers may be ``*`` patterns."""

    allowed_origins: tuple[str, ...]
    allowed_methods: tuple[str, ...]
    allowed_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age_seconds: int | None = None

    def __post_init__(self) -> None:
        bad = [m for m in self.allowed_methods if m not in CORS_METHODS]
        if bad or not self.allowed_methods:
            raise ValueError(f"allowed_methods must be among {', '.join(CORS_METHODS)}; got {bad}")
        if not self.allowed_origins or any(o.count("*") > 1 for o in self.allowed_origins):
            raise ValueError("allowed_origins: one or more origins, each with at most one '*'")

    def allows(self, origin: str, method: str, headers: Sequence[str] = ()) -> bool:
        """Whether this rule lets ``origin`` send ``method`` with ``headers`` (lower-case names)."""
        if method not in self.allowed_methods:
            return False
        if not any(_wildcard(pattern, origin) for pattern in self.allowed_origins):
            return False
        patterns = [h.lower() for h in self.allowed_headers]
        return all(any(_wildcard(p, name) for p in patterns) for name in headers)


def _wildcard(pattern: str, value: str) -> bool:
    head, star, tail = pattern.partition("*")
    if not star:
        return pattern == value
    return len(value) >= len(head) + len(tail) and value.startswith(head) and value.endswith(tail)


@dataclass(frozen=True)
class TemporaryKey:
    """A temporary key the stand-in issued: its SecretId, SecretKey, session token and expiry (epoch s)."""

    secret_id: str
    secret_key: str
    token: str
    expires_at: float


class CosError(Exception):
    """An error answer: COS's code, HTTP status and message."""

    def __init__(self, code: str, status: int, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.code = code
        self.status = status
        self.message = message


@dataclass
class _Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | Iterable[bytes] = b""


@dataclass
class _Incoming:
    """One parsed request."""

    method: str
    path: str  # decoded, starting with "/"
    query: list[tuple[str, str]]  # decoded pairs, in order
    headers: dict[str, str]  # lower-case names
    body: bytes
    host: str
    bucket: str | None = None
    key: str = ""
    auth: str | None = None


class CosStandIn(LocalService):
    """The COS stand-in server. Thread-safe; ``start()`` it, or use it as a context manager.

    ``credentials`` maps a SecretId to ``(SecretKey, session token or None)``; ``s3_endpoint`` is the
    ``http://host:port`` of the moto S3 server holding the objects; ``region`` is the only region whose
    bucket domains it serves; ``clock`` gives the time the key time windows are judged by.
    ``moto_in_process``: that server runs in this process (the local stack's), so the stand-in reads and
    writes its backend directly (``devstack.emulators.moto_objects``: a COS request then costs this
    machine a fraction of the CPU); it may be changed while the stand-in runs.
    """

    def __init__(
        self,
        *,
        s3_endpoint: str,
        credentials: Mapping[str, tuple[str, str | None]],
        region: str = "ap-guangzhou",
        mode: str = "cos",
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.time,
        moto_in_process: bool = False,
    ) -> None:
        self.s3_endpoint = s3_endpoint
        self.moto_in_process = moto_in_process
        self.credentials = dict(credentials)
        self.region = region
        self.host = host
        self.port = port
        self.clock = clock
        self._mode = "cos"
        self.mode = mode
        self._offset = 0.0
        self._expiries: dict[str, float] = {}  # SecretId of a temporary key → when its token expires
        self._lock = threading.Lock()
        self._key_locks: dict[tuple[str, str], threading.Lock] = {}
        self._requests: list[CosRequest] = []
        self._listeners: list[Callable[[CosPut], None]] = []
        self._cors: dict[str, tuple[CorsRule, ...]] = {}
        self._boto3: Any = None
        self._moto: Any = None

    # ------------------------------------------------------------------ life cycle

    thread_name = "cos-standin"  # clients connect to its endpoint, keeping the bucket's domain as Host

    def _bind(self) -> _Server:
        import boto3
        from botocore.config import Config

        self._boto3 = boto3.client(
            "s3",
            endpoint_url=self.s3_endpoint,
            region_name=self.region,
            aws_access_key_id="cos-standin",
            aws_secret_access_key="cos-standin",  # noqa: S106 (moto's server checks no credentials)
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                max_pool_connections=32,
                retries={"max_attempts": 1},
            ),
        )
        server = _Server((self.host, self.port), _Handler)
        server.standin = self
        return server

    @property
    def _s3(self) -> Any:
        """Where the objects are: moto's backend called directly when ``moto_in_process`` (it is this
        process's), else boto3 on moto's server at ``s3_endpoint``; both answer in boto3's shapes."""
        if self.moto_in_process:
            from devstack.emulators.moto_objects import MotoObjects

            if self._moto is None:
                self._moto = MotoObjects()
            return self._moto
        return self._boto3

    def stop(self) -> None:
        """Stop serving (idempotent)."""
        super().stop()
        if self._boto3 is not None:
            self._boto3.close()
            self._boto3 = None

    def domain(self, bucket: str) -> str:
        """The bucket's COS domain in this stand-in's region."""
        return bucket_domain(bucket, self.region)

    # ------------------------------------------------------------------ time and temporary keys

    def now(self) -> float:
        """The stand-in's time: ``clock`` plus what ``advance`` added."""
        return self.clock() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the stand-in's clock forward (key time windows, temporary keys' expiry)."""
        with self._lock:
            self._offset += seconds

    def issue_temporary_key(self, life: float) -> TemporaryKey:
        """A new temporary key (SecretId, SecretKey, token) whose token expires ``life`` seconds from now."""
        key = TemporaryKey(
            secret_id=f"AKIDtmp{secrets.token_hex(12)}",
            secret_key=secrets.token_hex(16),
            token=secrets.token_hex(32),
            expires_at=self.now() + life,
        )
        with self._lock:
            self.credentials[key.secret_id] = (key.secret_key, key.token)
            self._expiries[key.secret_id] = key.expires_at
        return key

    # ------------------------------------------------------------------ switches and records

    @property
    def mode(self) -> str:
        """Conditional semantics of PUT: ``cos``, ``s3`` or ``none`` (see the module docstring)."""
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        if value not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}; got {value!r}")
        self._mode = value

    @property
    def requests(self) -> list[CosRequest]:
        """Every request received, in order of completion."""
        with self._lock:
            return list(self._requests)

    @property
    def refused(self) -> list[CosRequest]:
        """The requests refused by authentication (403): anonymous, unsigned, badly signed, expired."""
        return [request for request in self.requests if request.status == 403]

    def assert_none_refused(self) -> None:
        """Raise AssertionError naming each request the signature check refused."""
        refused = self.refused
        if refused:
            lines = [f"{r.method} {r.bucket}/{r.key}: {r.error_code} {r.message}" for r in refused]
            raise AssertionError("the COS stand-in refused: " + "; ".join(lines))

    def set_cors(self, bucket: str, rules: Sequence[CorsRule]) -> None:
        """Give ``bucket`` a CORS configuration (PUT Bucket cors); no rules removes it (DELETE)."""
        with self._lock:
            if rules:
                self._cors[bucket] = tuple(rules)
            else:
                self._cors.pop(bucket, None)

    def cors(self, bucket: str) -> tuple[CorsRule, ...]:
        """The bucket's CORS rules (none when it has no configuration)."""
        with self._lock:
            return self._cors.get(bucket, ())

    def subscribe(self, listener: Callable[[CosPut], None]) -> None:
        """Call ``listener`` after every successful PUT Object (COS's event notifications: the local
        stack's COS triggers); from the request's thread, after the answer is decided."""
        with self._lock:
            self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[CosPut], None]) -> None:
        """Stop calling ``listener`` (ValueError when it was not subscribed)."""
        with self._lock:
            self._listeners.remove(listener)

    def reset(self) -> None:
        """Forget the request record, set the mode back to ``cos`` and the clock back to ``clock`` (the
        objects live in moto; issued temporary keys stay)."""
        with self._lock:
            self._requests.clear()
            self._mode = "cos"
            self._offset = 0.0

    # ------------------------------------------------------------------ request handling

    def _handle(self, incoming: _Incoming) -> _Reply:
        request_id = uuid.uuid4().hex
        try:
            reply = self._preflight(incoming) if incoming.method == "OPTIONS" else self._answer(incoming)
            code, message = None, ""
        except CosError as err:
            reply = _error_reply(err, incoming, request_id)
            code, message = err.code, err.message
        except Exception as exc:  # a stand-in bug must answer (and show in the record), not drop the line
            failure = CosError("InternalError", 500, f"The stand-in failed: {type(exc).__name__}: {exc}")
            reply = _error_reply(failure, incoming, request_id)
            code, message = failure.code, failure.message
        reply.headers["x-cos-request-id"] = request_id
        if incoming.method != "OPTIONS":
            self._cors_headers(incoming, reply)
        record = CosRequest(
            method=incoming.method,
            bucket=incoming.bucket,
            key=incoming.key,
            status=reply.status,
            error_code=code,
            message=message,
            auth=incoming.auth,
        )
        with self._lock:
            self._requests.append(record)
            listeners = list(self._listeners) if incoming.method == "PUT" and code is None else []
        for listener in listeners:
            with contextlib.suppress(Exception):  # a broken listener must not break the PUT
                listener(
                    CosPut(
                        bucket=cast(str, incoming.bucket),
                        key=incoming.key,
                        size=len(incoming.body),
                        etag=reply.headers.get("ETag", ""),
                        request_id=request_id,
                        content_type=incoming.headers.get("content-type", ""),
                    )
                )
        return reply

    @staticmethod
    def _locate(incoming: _Incoming) -> tuple[str, str]:
        """The bucket and region of the request's virtual-hosted domain; sets its bucket and key."""
        located = parse_bucket_host(incoming.host)
        if located is None:
            raise CosError(
                "NoSuchBucket", 404, f"Host {incoming.host!r} is not a bucket domain <bucket>.cos.<region>..."
            )
        incoming.bucket = located[0]
        incoming.key = incoming.path[1:]
        return located

    def _answer(self, incoming: _Incoming) -> _Reply:
        located = self._locate(incoming)
        self._authenticate(incoming)
        if located[1] != self.region:
            raise CosError("NoSuchBucket", 404, f"The bucket does not exist in region {located[1]}.")
        names = {name.lower() for name, _ in incoming.query}
        if "cors" in names and not incoming.key:
            return self._bucket_cors(incoming)
        unsupported = sorted(names & SUBRESOURCES)
        if unsupported:
            raise CosError("NotImplemented", 501, f"The stand-in does not serve ?{unsupported[0]}.")
        method = incoming.method
        if not incoming.key:
            if method == "GET":
                return self._list(incoming)
            if method == "HEAD":
                return self._head_bucket(incoming)
            raise CosError("NotImplemented", 501, f"The stand-in does not serve {method} on a bucket.")
        if method in ("GET", "HEAD"):
            return self._get(incoming)
        if method == "PUT":
            return self._put(incoming)
        if method == "DELETE":
            return self._delete(incoming)
        raise CosError("NotImplemented", 501, f"The stand-in does not serve {method} on an object.")

    # ------------------------------------------------------------------ cross-origin requests

    def _preflight(self, incoming: _Incoming) -> _Reply:
        """OPTIONS Object: unsigned; 200 with the matching rule's headers, else 403."""
        bucket, _region = self._locate(incoming)
        origin = incoming.headers.get("origin", "")
        method = incoming.headers.get("access-control-request-method", "").strip()
        wanted = incoming.headers.get("access-control-request-headers", "")
        headers = [h.strip().lower() for h in wanted.split(",") if h.strip()]
        if not origin or not method:
            message = "CORS preflight needs Origin and Access-Control-Request-Method."
            raise CosError("AccessForbidden", 403, message)
        rule = next((r for r in self.cors(bucket) if r.allows(origin, method, headers)), None)
        if rule is None:
            raise CosError("AccessForbidden", 403, "CORSResponse: This CORS request is not allowed.")
        reply = _Reply(200, {"Content-Length": "0", "Vary": "Origin"})
        reply.headers["Access-Control-Allow-Origin"] = "*" if "*" in rule.allowed_origins else origin
        reply.headers["Access-Control-Allow-Methods"] = ",".join(rule.allowed_methods)
        if headers:
            reply.headers["Access-Control-Allow-Headers"] = ",".join(headers)
        if rule.expose_headers:
            reply.headers["Access-Control-Expose-Headers"] = ",".join(rule.expose_headers)
        if rule.max_age_seconds is not None:
            reply.headers["Access-Control-Max-Age"] = str(rule.max_age_seconds)
        return reply

    def _bucket_cors(self, incoming: _Incoming) -> _Reply:
        """PUT / GET / DELETE Bucket cors (signed, as every bucket request)."""
        bucket = cast(str, incoming.bucket)
        if incoming.method == "PUT":
            _check_md5(incoming)
            self.set_cors(bucket, _cors_rules(incoming.body))
            return _Reply(200, {"Content-Length": "0"})
        if incoming.method == "DELETE":
            self.set_cors(bucket, [])
            return _Reply(204, {"Content-Length": "0"})
        if incoming.method == "GET":
            rules = self.cors(bucket)
            if not rules:
                raise CosError("NoSuchCORSConfiguration", 404, "The CORS configuration does not exist.")
            return _Reply(200, {"Content-Type": "application/xml"}, _cors_xml(rules))
        raise CosError("NotImplemented", 501, f"The stand-in does not serve {incoming.method} ?cors.")

    def _cors_headers(self, incoming: _Incoming, reply: _Reply) -> None:
        """The CORS headers of an actual request from an origin a rule allows (nothing otherwise)."""
        origin = incoming.headers.get("origin", "")
        if not origin or incoming.bucket is None:
            return
        rule = next((r for r in self.cors(incoming.bucket) if r.allows(origin, incoming.method)), None)
        if rule is None:
            return
        reply.headers["Access-Control-Allow-Origin"] = "*" if "*" in rule.allowed_origins else origin
        reply.headers["Vary"] = "Origin"
        if rule.expose_headers:
            reply.headers["Access-Control-Expose-Headers"] = ",".join(rule.expose_headers)

    # ------------------------------------------------------------------ authentication

    def _authenticate(self, incoming: _Incoming) -> None:
        """Check the COS signature of the request; raise CosError if it is refused."""
        authorization = incoming.headers.get("authorization", "")
        query = dict(incoming.query)
        if authorization:
            incoming.auth = "header"
            fields = dict(part.partition("=")[::2] for part in authorization.split("&"))
        elif "q-signature" in query or "q-sign-algorithm" in query:
            incoming.auth = "query"
            fields = {name: value for name, value in incoming.query if name.startswith("q-")}
        else:
            raise CosError("AccessDenied", 403, "Access Denied: the request carries no signature.")
        missing = [name for name in SIGNED_FIELDS if name not in fields]
        if missing:
            raise CosError("AccessDenied", 403, f"Invalid Authorization: {', '.join(missing)} missing.")
        if fields["q-sign-algorithm"] != "sha1":
            raise CosError("AccessDenied", 403, "Invalid Authorization: q-sign-algorithm must be sha1.")
        credential = self.credentials.get(fields["q-ak"])
        if credential is None:
            raise CosError("InvalidAccessKeyId", 403, "The SecretId (q-ak) you provided does not exist.")
        secret_key, token = credential
        now = self.now()
        expiry = self._expiries.get(fields["q-ak"])
        if expiry is not None and now >= expiry:
            raise CosError(
                "AccessDenied", 403, "The temporary key has expired (its token is no longer valid)."
            )
        if fields["q-sign-time"] != fields["q-key-time"]:
            raise CosError("AccessDenied", 403, "Invalid Authorization: q-sign-time must equal q-key-time.")
        for name in ("q-key-time", "q-sign-time"):
            start, end = _window(fields[name], name)
            if now > end:
                raise CosError("AccessDenied", 403, f"Request has expired ({name} ended).")
            if now < start:
                raise CosError("AccessDenied", 403, f"Request is not valid yet ({name} starts later).")
        if token is not None:
            sent = incoming.headers.get(TOKEN_NAME)
            if sent is None and incoming.auth == "query":
                sent = query.get(TOKEN_NAME)
            if sent is None:
                raise CosError("InvalidAccessKeyId", 403, f"A temporary SecretId needs {TOKEN_NAME}.")
            if not hmac.compare_digest(sent.encode("utf-8"), token.encode("utf-8")):
                raise CosError("InvalidAccessKeyId", 403, f"The {TOKEN_NAME} does not match the SecretId.")
        http_string = "\n".join(
            [
                incoming.method.lower(),
                incoming.path,
                _canonical(fields["q-url-param-list"], _encoded(incoming.query), "parameter"),
                _canonical(
                    fields["q-header-list"],
                    _encoded((name, _latin1(value)) for name, value in incoming.headers.items()),
                    "header",
                ),
                "",
            ]
        )
        digest = hashlib.sha1(http_string.encode("utf-8")).hexdigest()  # noqa: S324 (COS's scheme)
        string_to_sign = f"sha1\n{fields['q-sign-time']}\n{digest}\n"
        sign_key = hmac.new(secret_key.encode(), fields["q-key-time"].encode(), hashlib.sha1).hexdigest()
        expected = hmac.new(sign_key.encode(), string_to_sign.encode(), hashlib.sha1).hexdigest()
        if not hmac.compare_digest(expected, fields["q-signature"].lower()):
            raise CosError(
                "SignatureDoesNotMatch",
                403,
                "The calculated signature does not match the q-signature you provided.",
            )

    # ------------------------------------------------------------------ operations

    def _get(self, incoming: _Incoming) -> _Reply:
        options: dict[str, Any] = {"Bucket": incoming.bucket, "Key": incoming.key}
        for header, option in _GET_CONDITIONS.items():
            if header in incoming.headers:
                options[option] = incoming.headers[header]
        if incoming.method == "HEAD":
            try:
                head = self._s3.head_object(**options)
            except Exception as exc:
                raise self._s3_error(exc, incoming) from None
            return _Reply(200, _object_headers(head))
        if "range" in incoming.headers:
            options["Range"] = incoming.headers["range"]
        try:
            got = self._s3.get_object(**options)
        except Exception as exc:
            raise self._s3_error(exc, incoming) from None
        headers = _object_headers(got)
        status = 200
        if got.get("ContentRange"):
            status = 206
            headers["Content-Range"] = got["ContentRange"]
        return _Reply(status, headers, _stream(got["Body"]))

    def _put(self, incoming: _Incoming) -> _Reply:
        body = incoming.body
        headers = incoming.headers
        _check_md5(incoming)
        options: dict[str, Any] = {"Bucket": incoming.bucket, "Key": incoming.key, "Body": body}
        if "content-type" in headers:
            options["ContentType"] = headers["content-type"]
        for header, option in (
            ("cache-control", "CacheControl"),
            ("content-disposition", "ContentDisposition"),
            ("content-encoding", "ContentEncoding"),
            ("expires", "Expires"),
        ):
            if header in headers:
                options[option] = headers[header]
        metadata = {
            name[len("x-cos-meta-") :]: v for name, v in headers.items() if name.startswith("x-cos-meta-")
        }
        if metadata:
            options["Metadata"] = metadata
        with self._key_lock(cast(str, incoming.bucket), incoming.key):
            if self._check_put_conditions(incoming):
                options["IfNoneMatch"] = "*"  # moto checks absence and writes in one call
            try:
                put = self._s3.put_object(**options)
            except Exception as exc:
                error = self._s3_error(exc, incoming)
                if error.code == "PreconditionFailed" and self.mode == "cos":  # forbid-overwrite refused it
                    message = "The object exists and x-cos-forbid-overwrite is true."
                    raise CosError("FileAlreadyExists", 409, message) from None
                raise error from None
        return _Reply(200, {"ETag": put["ETag"]})

    def _check_put_conditions(self, incoming: _Incoming) -> bool:
        """Apply the mode's conditional semantics (the caller holds the key's lock); True when the write
        must create the object (COS's forbid-overwrite, S3's ``If-None-Match: *``), which moto checks
        itself as it writes."""
        headers, mode = incoming.headers, self.mode
        forbid = headers.get("x-cos-forbid-overwrite", "").strip().lower() == "true"
        if_none_match = headers.get("if-none-match", "").strip()
        if_match = headers.get("if-match", "").strip()
        if mode == "none":
            return False
        if mode == "cos":
            return forbid
        if if_match:
            etag = self._etag_of(incoming)
            if etag is None:
                raise CosError("NoSuchKey", 404, "The specified key does not exist.")
            wanted = {tag.strip().strip('"') for tag in if_match.split(",")}
            if "*" not in wanted and etag.strip('"') not in wanted:
                raise CosError("PreconditionFailed", 412, "At least one of the preconditions did not hold.")
        return if_none_match == "*"

    def _etag_of(self, incoming: _Incoming) -> str | None:
        """The current ETag of the object, None when it does not exist (NoSuchBucket raises)."""
        try:
            head = self._s3.head_object(Bucket=incoming.bucket, Key=incoming.key)
        except Exception as exc:
            error = self._s3_error(exc, incoming)
            if error.code == "NoSuchKey":
                return None
            raise error from None
        etag: str = head["ETag"]
        return etag

    def _delete(self, incoming: _Incoming) -> _Reply:
        with self._key_lock(cast(str, incoming.bucket), incoming.key):
            try:
                self._s3.delete_object(Bucket=incoming.bucket, Key=incoming.key)
            except Exception as exc:
                raise self._s3_error(exc, incoming) from None
        return _Reply(204)

    def _head_bucket(self, incoming: _Incoming) -> _Reply:
        try:
            self._s3.head_bucket(Bucket=incoming.bucket)
        except Exception as exc:
            raise self._s3_error(exc, incoming, bucket_only=True) from None
        return _Reply(200)

    def _list(self, incoming: _Incoming) -> _Reply:
        query = dict(incoming.query)
        prefix, delimiter, marker = (query.get(name, "") for name in ("prefix", "delimiter", "marker"))
        raw_max = query.get("max-keys", str(MAX_KEYS)) or str(MAX_KEYS)
        if not raw_max.isdigit():
            raise CosError("InvalidArgument", 400, f"max-keys must be an integer 0..1000; got {raw_max!r}.")
        max_keys = min(int(raw_max), MAX_KEYS)
        encoding = query.get("encoding-type", "")
        if encoding not in ("", "url"):
            raise CosError("InvalidArgument", 400, f"encoding-type must be url; got {encoding!r}.")
        options: dict[str, Any] = {"Bucket": incoming.bucket, "MaxKeys": max_keys}
        # ListObjectsV2 with StartAfter: moto's V1 applies marker and max-keys to keys only and answers every
        # common prefix, where COS counts keys and common prefixes alike (GET Bucket: max-keys, NextMarker)
        for option, value in (("Prefix", prefix), ("Delimiter", delimiter), ("StartAfter", marker)):
            if value:
                options[option] = value
        try:
            listing = self._s3.list_objects_v2(**options)
        except Exception as exc:
            raise self._s3_error(exc, incoming, bucket_only=True) from None
        contents = listing.get("Contents", [])
        prefixes = [item["Prefix"] for item in listing.get("CommonPrefixes", [])]
        truncated = bool(listing.get("IsTruncated"))
        next_marker = ""
        if truncated:  # COS names the next start (the page's last key or prefix), even without a delimiter
            last = [item["Key"] for item in contents] + prefixes
            next_marker = max(last) if last else ""

        def text(value: str) -> str:
            return escape(quote(value, safe="/") if encoding == "url" else value)

        parts = [
            "<?xml version='1.0' encoding='utf-8' ?>\n<ListBucketResult>",
            f"<Name>{escape(cast(str, incoming.bucket))}</Name>",
            f"<EncodingType>{encoding}</EncodingType>" if encoding else "",
            f"<Prefix>{text(prefix)}</Prefix>",
            f"<Marker>{text(marker)}</Marker>",
            f"<MaxKeys>{max_keys}</MaxKeys>",
            f"<Delimiter>{text(delimiter)}</Delimiter>" if delimiter else "",
            f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>",
            f"<NextMarker>{text(next_marker)}</NextMarker>" if truncated else "",
        ]
        parts += [f"<CommonPrefixes><Prefix>{text(p)}</Prefix></CommonPrefixes>" for p in prefixes]
        owner = "<Owner><ID>1250000000</ID><DisplayName>1250000000</DisplayName></Owner>"
        for item in contents:
            modified = item["LastModified"].astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            parts.append(
                f"<Contents><Key>{text(item['Key'])}</Key><LastModified>{modified}</LastModified>"
                f"<ETag>{escape(item['ETag'])}</ETag><Size>{item['Size']}</Size>{owner}"
                "<StorageClass>STANDARD</StorageClass></Contents>"
            )
        parts.append("</ListBucketResult>")
        return _Reply(200, {"Content-Type": "application/xml"}, "".join(parts).encode("utf-8"))

    # ------------------------------------------------------------------ helpers

    def _key_lock(self, bucket: str, key: str) -> threading.Lock:
        with self._lock:
            return self._key_locks.setdefault((bucket, key), threading.Lock())

    def _s3_error(self, exc: Exception, incoming: _Incoming, *, bucket_only: bool = False) -> CosError:
        """moto's answer as COS's error; a bare 404 (HEAD) is told apart by asking for the bucket."""
        from botocore.exceptions import BotoCoreError, ClientError

        if not isinstance(exc, ClientError):
            if isinstance(exc, BotoCoreError):
                return CosError("InternalError", 500, "The storage behind the stand-in failed.")
            raise exc
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500))
        if code in ("404", "NoSuchKey", "NoSuchBucket", "NotFound"):
            if code == "NoSuchKey" and not bucket_only:  # moto named it: no need to ask for the bucket
                return CosError("NoSuchKey", 404, "The specified key does not exist.")
            if code == "NoSuchBucket" or bucket_only or not self._bucket_exists(cast(str, incoming.bucket)):
                return CosError("NoSuchBucket", 404, "The specified bucket does not exist.")
            return CosError("NoSuchKey", 404, "The specified key does not exist.")
        if code in ("304", "NotModified"):
            return CosError("NotModified", 304, "Not Modified")
        if code in ("412", "PreconditionFailed"):
            return CosError("PreconditionFailed", 412, "At least one of the preconditions did not hold.")
        if code == "InvalidRange":
            return CosError("InvalidRange", 416, "The requested range cannot be satisfied.")
        if status >= 500:
            return CosError("InternalError", 500, "The storage behind the stand-in failed.")
        return CosError(code or "InvalidRequest", status, str(error.get("Message", "")))

    def _bucket_exists(self, bucket: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._s3.head_bucket(Bucket=bucket)
        except ClientError:
            return False
        return True


_GET_CONDITIONS = {
    "if-match": "IfMatch",
    "if-none-match": "IfNoneMatch",
    "if-modified-since": "IfModifiedSince",
    "if-unmodified-since": "IfUnmodifiedSince",
}


def _window(value: str, name: str) -> tuple[int, int]:
    start, sep, end = value.partition(";")
    if not (sep and start.isdigit() and end.isdigit() and int(start) <= int(end)):
        raise CosError("AccessDenied", 403, f"Invalid Authorization: {name} must be <start>;<end>.")
    return int(start), int(end)


def _latin1(value: str) -> bytes:
    """A header value as the bytes that were sent (http.server decodes headers as latin-1)."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


def _encoded(pairs: Iterable[tuple[str, str | bytes]]) -> dict[str, str]:
    """COS's canonical pairs: names URL-encoded then lower-cased, values URL-encoded (``-_.~`` kept)."""
    return {quote(name, UNRESERVED).lower(): quote(value, UNRESERVED) for name, value in pairs}


def _canonical(listed: str, available: Mapping[str, str], kind: str) -> str:
    """``name=value&...`` of the listed names in sorted order (COS's HttpParameters and HttpHeaders); a
    listed name must be present."""
    names = sorted(name for name in listed.split(";") if name)
    absent = [name for name in names if name not in available]
    if absent:
        raise CosError(
            "SignatureDoesNotMatch", 403, f"The signed {kind} {absent[0]!r} is absent from the request."
        )
    return "&".join(f"{name}={available[name]}" for name in names)


def _object_headers(answer: Mapping[str, Any]) -> dict[str, str]:
    headers = {
        "Content-Type": str(answer.get("ContentType") or "application/octet-stream"),
        "Content-Length": str(answer.get("ContentLength", 0)),
        "ETag": str(answer.get("ETag", "")),
        "Accept-Ranges": "bytes",
    }
    modified = answer.get("LastModified")
    if isinstance(modified, datetime):
        headers["Last-Modified"] = format_datetime(modified.astimezone(timezone.utc), usegmt=True)
    for option, header in (
        ("CacheControl", "Cache-Control"),
        ("ContentDisposition", "Content-Disposition"),
        ("ContentEncoding", "Content-Encoding"),
    ):
        if answer.get(option):
            headers[header] = str(answer[option])
    for name, value in (answer.get("Metadata") or {}).items():
        headers[f"x-cos-meta-{name}"] = str(value)
    return headers


def _stream(body: Any) -> Iterator[bytes]:
    try:
        while chunk := body.read(CHUNK):
            yield chunk
    finally:
        body.close()


def _check_md5(incoming: _Incoming) -> None:
    """``Content-MD5``, when sent, must be the body's."""
    if "content-md5" in incoming.headers:
        try:
            sent = base64.b64decode(incoming.headers["content-md5"], validate=True)
        except (binascii.Error, ValueError):
            raise CosError("InvalidDigest", 400, "The Content-MD5 you specified is not valid.") from None
        if sent != hashlib.md5(incoming.body).digest():  # noqa: S324 (the header's algorithm)
            raise CosError("BadDigest", 400, "The Content-MD5 you specified did not match the body.")


def _cors_rules(body: bytes) -> list[CorsRule]:
    """The rules of a PUT Bucket cors body (``CORSConfiguration`` of 1 to 100 ``CORSRule``)."""
    from xml.etree import ElementTree

    if len(body) > MAX_CORS_BYTES:
        raise CosError("EntityTooLarge", 400, "A CORS configuration is at most 64 KB.")
    try:
        root = ElementTree.fromstring(body)  # noqa: S314 (a local stand-in; its callers are the tests)
    except ElementTree.ParseError:
        raise CosError("MalformedXML", 400, "The XML you provided was not well-formed.") from None
    found = root.findall("CORSRule") if root.tag == "CORSConfiguration" else []
    if not 1 <= len(found) <= MAX_CORS_RULES:
        raise CosError("MalformedXML", 400, f"CORSConfiguration holds 1 to {MAX_CORS_RULES} CORSRule.")
    rules = []
    for node in found:

        def texts(name: str, node: Any = node) -> tuple[str, ...]:
            return tuple((item.text or "").strip() for item in node.findall(name))

        age = (node.findtext("MaxAgeSeconds") or "").strip()
        try:
            rules.append(
                CorsRule(
                    allowed_origins=texts("AllowedOrigin"),
                    allowed_methods=texts("AllowedMethod"),
                    allowed_headers=texts("AllowedHeader"),
                    expose_headers=texts("ExposeHeader"),
                    max_age_seconds=int(age) if age else None,
                )
            )
        except ValueError as exc:
            raise CosError("InvalidArgument", 400, f"CORSRule: {exc}") from None
    return rules


def _cors_xml(rules: Sequence[CorsRule]) -> bytes:
    parts = ["<?xml version='1.0' encoding='utf-8' ?>\n<CORSConfiguration>"]
    for rule in rules:
        parts.append("<CORSRule>")
        for name, values in (
            ("AllowedOrigin", rule.allowed_origins),
            ("AllowedMethod", rule.allowed_methods),
            ("AllowedHeader", rule.allowed_headers),
            ("ExposeHeader", rule.expose_headers),
        ):
            parts.extend(f"<{name}>{escape(value)}</{name}>" for value in values)
        if rule.max_age_seconds is not None:
            parts.append(f"<MaxAgeSeconds>{rule.max_age_seconds}</MaxAgeSeconds>")
        parts.append("</CORSRule>")
    parts.append("</CORSConfiguration>")
    return "".join(parts).encode()


def _error_reply(err: CosError, incoming: _Incoming, request_id: str) -> _Reply:
    """COS's error XML (no body for HEAD and 304); the SDK reads Code, Message, Resource, RequestId."""
    if incoming.method == "HEAD" or err.status == 304:
        return _Reply(err.status, {"Content-Length": "0"})
    resource = escape(f"{incoming.host}{quote(incoming.path, safe='/')}")
    xml = (
        "<?xml version='1.0' encoding='utf-8' ?>\n<Error>"
        f"<Code>{escape(err.code)}</Code><Message>{escape(err.message)}</Message>"
        f"<Resource>{resource}</Resource><RequestId>{request_id}</RequestId>"
        f"<TraceId>{uuid.uuid4().hex}</TraceId></Error>"
    ).encode()
    return _Reply(err.status, {"Content-Type": "application/xml"}, xml)


# ---------------------------------------------------------------------- HTTP plumbing


class _Server(StandInServer):
    standin: CosStandIn


class _Handler(StandInHandler):
    server_version = "cos-standin"
    methods = ("GET", "HEAD", "PUT", "DELETE", "POST", "OPTIONS")

    def serve(self) -> None:
        standin = cast(_Server, self.server).standin
        headers = {name.lower(): value for name, value in self.headers.items()}
        target, _, raw_query = self.path.partition("?")
        incoming = _Incoming(
            method=self.command,
            path=unquote(target) or "/",
            query=parse_qsl(raw_query, keep_blank_values=True),
            headers=headers,
            body=b"",
            host=headers.get("host", ""),
        )
        try:
            incoming.body = self._read_body(headers)
        except CosError as err:
            self.close_connection = True
            reply = _error_reply(err, incoming, uuid.uuid4().hex)
        else:
            reply = standin._handle(incoming)
        self._send(reply)

    def _read_body(self, headers: Mapping[str, str]) -> bytes:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            chunked = self.read_chunked(MAX_PUT_BYTES)
            if chunked is None:
                raise CosError("EntityTooLarge", 400, "A simple upload holds at most 5 GB.")
            return chunked
        raw = headers.get("content-length", "").strip() or "0"
        if not raw.isdigit():
            raise CosError("InvalidArgument", 400, "Content-Length is not a number.")
        if int(raw) > MAX_PUT_BYTES:
            raise CosError("EntityTooLarge", 400, "A simple upload holds at most 5 GB.")
        return self.rfile.read(int(raw)) if int(raw) else b""

    def _send(self, reply: _Reply) -> None:
        self.send_response(reply.status)
        body = reply.body
        if isinstance(body, bytes) and "Content-Length" not in reply.headers:
            reply.headers["Content-Length"] = str(len(body))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command == "HEAD" or reply.status in (204, 304):
            if not isinstance(body, bytes):
                for _ in body:  # drain and close moto's stream
                    pass
            return
        if isinstance(body, bytes):
            self.wfile.write(body)
            return
        try:
            for chunk in body:
                self.wfile.write(chunk)
        except OSError:
            self.close_connection = True  # the client went away mid-body

    # quiet (StandInHandler): the record is ``CosStandIn.requests``; access lines would carry signatures


# ---------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    """Run the stand-in in the foreground until interrupted."""
    parser = standin_parser("cos", "Serve COS's XML API on this machine.", 9300)
    parser.add_argument("--s3-endpoint", required=True, help="moto's S3 server holding the objects")
    parser.add_argument("--region", default="ap-guangzhou")
    parser.add_argument("--mode", choices=MODES, default="cos")
    args = parser.parse_args(argv)
    standin = CosStandIn(
        s3_endpoint=args.s3_endpoint,
        credentials={args.secret_id: (args.secret_key, args.token)},
        region=args.region,
        mode=args.mode,
        host=args.host,
        port=args.port,
    )

    return run_in_foreground(
        standin, lambda: f"COS stand-in listening on {standin.endpoint} (region {standin.region})"
    )


if __name__ == "__main__":
    raise SystemExit(main())
