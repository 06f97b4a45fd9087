"""Errors of the relay, and whether the platform should retry them.

    RelayError                 code, message, retryable, details
      InputError               bad input: a broken rule of the element request (permanent)
        ManifestError          element.json unreadable or invalid (permanent)
        MediaError             a referenced object is missing or too large (permanent)
      UnknownEventError        an event of no known kind (permanent, raised to the caller)
      ConfigError              a missing or invalid setting (raised: nothing is dropped)
      VodError                 the VOD API refused or failed (retryable by code)
      StorageError             object storage failed (5xx and network errors are retryable)
      WebhookError             the webhook refused or could not be reached
      InProgressError          another invocation holds the submission lease (retryable)

A permanent error is relayed as ``element.failed`` and the invocation returns; a retryable one is
retried inside the invocation, then raised so the platform's own retry takes over.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldProblem:
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

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        retryable: bool | None = None,
        details: tuple[FieldProblem, ...] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if retryable is not None:
            self.retryable = retryable
        self.details = details

    def as_dict(self) -> dict[str, object]:
        """The error as relayed to webhooks and HTTP callers: code and message, details if any."""
        out: dict[str, object] = {"code": self.code, "message": self.message}
        if self.details:
            out["details"] = [d.as_dict() for d in self.details]
        return out


class InputError(RelayError):
    code = "InvalidElementRequest"

    @classmethod
    def from_problems(cls, problems: tuple[FieldProblem, ...], *, prefix: str = "") -> InputError:
        text = "; ".join(f"{p.field}: {p.problem}" for p in problems)
        return cls(f"{prefix}{text}", details=problems)


class ManifestError(InputError):
    code = "InvalidManifest"


class MediaError(InputError):
    code = "InvalidMedia"


class UnknownEventError(RelayError):
    code = "UnknownEvent"


class ConfigError(RelayError):
    code = "ConfigError"


class VodError(RelayError):
    code = "VodError"
    request_id: str | None = None


class StorageError(RelayError):
    code = "StorageError"


class WebhookError(RelayError):
    code = "WebhookError"


class InProgressError(RelayError):
    code = "SubmissionInProgress"
    retryable = True
