"""Every exception lib raises; what becomes of each is decided by ``lib.outcomes.outcome_for``.

    RelayError                 code, message, retryable, details: relayed, answered or raised
      InputError               bad input: a broken rule of the element request (permanent)
        ManifestError          element.json unreadable or invalid (permanent)
        MediaError             a referenced object is missing, too large or not what VOD takes (permanent)
      UnknownEventError        an event of no known kind (permanent, raised to the caller)
      ConfigError              a missing or invalid setting: retried and raised, never element.failed
      HttpError                an answer the HTTP layer decides itself, with its own status and headers
      InternalError            a bug behind the HTTP API: 500, details only in the log
      SignatureError           a VOD event push whose Sign/T is missing, malformed or wrong (401)
      VodError                 the VOD API refused or failed (retryable by code)
      NotConfirmedError        VOD cannot confirm a pushed completion yet (retryable)
      StorageError             object storage failed (5xx and network errors are retryable)
        StorageNotFound        no such object or bucket (permanent): a caller's "not found"
        StorageAccessDenied    a permission refusal ("AccessDenied", a bare 403): a caller's "not readable"
                               where the caller chose the object, else the deployment's (configuration)
        StorageInvalidName     a bucket name or key no request can carry (permanent; HTTP 400)
        StorageUnavailable     the store failed or could not be reached: 5xx, throttling, network (retryable)
      QueueError               the submit queue (SQS) refused or could not be reached (retryable by code)
        CmqError               the same through TDMQ for CMQ's data-flow API
      ForeignJobError          a relay job whose signature does not verify: refused, acknowledged, not relayed
      WebhookError             the webhook refused or could not be reached
      InProgressError          another invocation holds the submission lease (retryable)
      RetryLaterError          raised so the platform delivers the event again (retryable)

    ReadLimitExceeded          a header read asked for more bytes than it may take (pre-flight stops)
    ProbeUnavailable           an https:// reference cannot be probed: VOD judges it
    ValueError
      MediaRefError            a media reference of no accepted form; the message names the rule
      NotMovie                 content that is not an MP4 or MOV container
      BrokenMovie              MP4/MOV boxes that contradict each other or the file's size


The second group are signals caught inside lib and turned into a RelayError (or a skipped check)
where the field is known; they never reach a trigger. An exception that only one module raises and
catches, and that no trigger ever sees, lives in that module instead (``lib.backfill.BackfillStop``:
the command line run on an operator's machine prints it and exits non-zero).

``lib.outcomes.outcome_for`` is the one mapping from a RelayError to what becomes of the record, and
every answer kind reads it: a retryable error is retried (HTTP 503, a batch item failure, a raise for
one-event triggers); a configuration error is retried the same way but raised wherever a raise is
possible, and is never relayed as ``element.failed`` (a deployment missing a setting must not drop
events); any other error is permanent: relayed as ``element.failed`` (HTTP 4xx/422/502) and the
invocation returns.

A configuration error is a ``ConfigError``, or any error whose ``configuration`` is set: the clients of
storage and VOD set it when the service refused the function's own credentials or permissions
(``refuses_credentials``), since a wrong or revoked key, or a role without a permission, is the
deployment's fault and never the record's. Queue clients may call ``refuses_credentials`` the same way.
"""

from __future__ import annotations

from collections.abc import Mapping

from lib.logs import redact
from lib.records import Record


class FieldProblem(Record):
    """One broken rule: the field (dotted path) and what is wrong with it."""

    field: str
    problem: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "problem": self.problem}


class RelayError(Exception):
    """Base of every error the relay raises on purpose."""

    code = "RelayError"
    retryable = False
    retry_after = 0.0  # seconds a retry should wait at least (rate limits)
    configuration = False  # the deployment's fault (a setting, a credential, a permission): never relayed

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        retryable: bool | None = None,
        details: tuple[FieldProblem, ...] = (),
        configuration: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if retryable is not None:
            self.retryable = retryable
        if configuration is not None:
            self.configuration = configuration
        self.details = details

    def as_dict(self) -> dict[str, object]:
        """The error as relayed to webhooks and recorded in receipts: code and message, details if any,
        scrubbed (``lib.logs.redact``): a message may quote what an upstream echoed, such as a URL."""
        out: dict[str, object] = {"code": self.code, "message": redact(self.message)}
        if self.details:
            out["details"] = [FieldProblem(d.field, redact(d.problem)).as_dict() for d in self.details]
        return out


class InputError(RelayError):
    code = "InvalidElementRequest"

    @classmethod
    def from_problems(
        cls, problems: tuple[FieldProblem, ...], *, prefix: str = "", code: str | None = None
    ) -> InputError:
        """Every broken rule in one error: ``<prefix>field: problem; field: problem``."""
        text = "; ".join(f"{p.field}: {p.problem}" for p in problems)
        return cls(f"{prefix}{text}", code=code, details=problems)

    @classmethod
    def field(cls, field: str, problem: str, *, prefix: str = "", code: str | None = None) -> InputError:
        """One broken rule: ``<prefix>field: problem``, with the field in ``details``."""
        return cls.from_problems((FieldProblem(field, problem),), prefix=prefix, code=code)

    @classmethod
    def body(cls, problem: str, *, prefix: str = "", code: str = "MalformedRequest") -> InputError:
        """A body that is no request at all (not JSON, not base64, not an object)."""
        return cls.field("(body)", problem, prefix=prefix, code=code)


class ManifestError(InputError):
    code = "InvalidManifest"


class MediaError(InputError):
    code = "InvalidMedia"


class UnknownEventError(RelayError):
    code = "UnknownEvent"


class ConfigError(RelayError):
    code = "ConfigError"
    configuration = True


# Error codes by which a cloud service refuses the caller's credentials or permissions. Storage: COS's
# "403 Error for COS Access" (InvalidAccessKeyId, SignatureDoesNotMatch, "Access Denied.") and S3's
# error list (ExpiredToken, InvalidToken, AllAccessDisabled, AccountProblem, InvalidSecurity). AWS's
# JSON APIs (SQS): the common errors (InvalidClientTokenId, ExpiredTokenException, IncompleteSignature,
# AccessDeniedException, ...). Tencent Cloud API 3.0 (VOD, TDMQ): AuthFailure.* and
# UnauthorizedOperation*. TDMQ for CMQ's data-flow API: 4100 (authentication failed; its module codes
# 10030, 10080, 10270). Matched on the service's own code, without any prefix a client adds.
CREDENTIAL_REFUSALS = frozenset(
    {
        "AccessDenied",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "InvalidToken",
        "TokenRefreshRequired",
        "AllAccessDisabled",
        "AccountProblem",
        "InvalidSecurity",
        "AccessDeniedException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "ExpiredTokenException",
        "IncompleteSignature",
        "InvalidSignatureException",
        "MissingAuthenticationToken",
        "AuthFailure",
        "UnauthorizedOperation",
        "4100",
    }
)
_REFUSAL_FAMILIES = ("AuthFailure.", "UnauthorizedOperation.")
# Of those, the ones a permission (not a key) decides: a caller naming an object the role may not read
# gets them too, so where the caller chose the object they are the caller's "not readable".
PERMISSION_REFUSALS = frozenset({"AccessDenied", "AllAccessDisabled", "AccessDeniedException"})


def refuses_credentials(code: str) -> bool:
    """True when ``code`` says the service refused the function's own credentials or permissions: a
    configuration error (retried and raised, never element.failed), not a fault of the record."""
    return code in CREDENTIAL_REFUSALS or code.startswith(_REFUSAL_FAMILIES)


class HttpError(RelayError):
    """An answer the HTTP layer decides itself (authentication, routing, size, a missing resource)."""

    def __init__(
        self, status: int, code: str, message: str, *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.status = status
        self.headers = dict(headers or {})


class InternalError(RelayError):
    """A bug or a broken configuration: 500, details only in the log."""

    code = "InternalError"


class SignatureError(RelayError):
    code = "InvalidEventSignature"


class VodError(RelayError):
    code = "VodError"
    request_id: str | None = None


class NotConfirmedError(RelayError):
    """VOD cannot confirm a pushed event yet: the push is answered with a retry."""

    code = "CompletionNotConfirmed"
    retryable = True


class StorageError(RelayError):
    """Object storage failed. The stores (``lib.storage.cos``, ``lib.storage.s3``) raise the subclasses
    below for the conditions callers tell apart (``lib.storage.translated``), so callers test the
    type, never the store's code; ``code`` stays the store's own (it is what webhooks and answers carry)."""

    code = "StorageError"
    status = 0  # the HTTP status the store answered with, when it answered


class StorageNotFound(StorageError):
    """The object or its bucket does not exist (NoSuchKey, NoSuchBucket, a 404): permanent."""

    code = "NoSuchKey"


class StorageAccessDenied(StorageError):
    """The store refused to let the function read or write the object: a permission refusal
    ("AccessDenied", "AllAccessDisabled": ``configuration`` set, see ``refuses_credentials``) or a bare
    403 whose reason the store did not say. Where the caller chose the object (a media reference, a
    folder), it is the caller's "not readable"; of the function's own buckets, the deployment's fault."""

    code = "AccessDenied"


class StorageInvalidName(StorageError):
    """A bucket name or key that no request can carry (refused before sending, or by the store): permanent."""

    code = "InvalidObjectName"


class StorageUnavailable(StorageError):
    """The store failed (5xx, throttling, a clock skew) or could not be reached: retried."""

    code = "StorageUnreachable"
    retryable = True


class QueueError(RelayError):
    code = "QueueError"


class CmqError(QueueError):
    """TDMQ for CMQ's data-flow API refused a call, or could not be reached."""


class ForeignJobError(RelayError):
    """A relay job that does not verify under RELAY_JOB_SECRET (lib.queue.job_signature): nobody with
    the key wrote it. Permanent, and never relayed: its callback and media are the sender's choice."""

    code = "ForeignRelayJob"


class WebhookError(RelayError):
    code = "WebhookError"


class InProgressError(RelayError):
    code = "SubmissionInProgress"
    retryable = True


class RetryLaterError(RelayError):
    """Raised to the platform so that it delivers the event again (records failed transiently)."""

    code = "RetryLater"
    retryable = True


# Signals caught inside lib (plain exceptions: they are never answered as they are).


class ReadLimitExceeded(Exception):
    """More bytes were asked for than a header read may take."""


class ProbeUnavailable(Exception):
    """An https:// reference cannot be probed (no range support, an error, a timeout): VOD judges it."""


class MediaRefError(ValueError):
    """A media reference that is not one of the accepted forms; the message names the rule."""


class NotMovie(ValueError):
    """The content is not an MP4 or MOV container; the message says what it is instead."""


class BrokenMovie(ValueError):
    """The boxes contradict each other or the file's size; the message says where."""
