"""The element request (docs/contracts.md §4): one schema for manifests, HTTP bodies, queue messages and
direct invocations, enforcing every documented constraint of ``CreateAigcAdvancedCustomElement``, and
what a valid request becomes for that API: its parameters (``build_params``, with the media resolved)
and the SessionId derived from the request's identity.

``parse_request`` is the only way in: it returns a valid ``ElementRequest`` or raises ``InputError``
whose details name each field and the rule it breaks (never pydantic's internals, never the input).

The schema is validated by pydantic's engine, ``pydantic_core``, from a core schema written out here
rather than derived from a ``BaseModel`` class: the result is the same validation and the same error
types, without importing pydantic's model machinery (about 100 ms of every cold start, measured by
``make bench``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import posixpath
import unicodedata
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic_core import SchemaValidator, ValidationError

from lib.errors import FieldProblem, InputError, MediaRefError
from lib.media import MAX_REF as MAX_REF  # here too: every limit of the request in one place
from lib.media import ResolvedMedia, is_video_path, parse_media_ref
from lib.records import Record

# Limits documented for CreateAigcAdvancedCustomElement (docs/platform.md §3.2).
MAX_NAME = 20
MAX_DESCRIPTION = 100
MIN_REFER_IMAGES, MAX_REFER_IMAGES = 1, 3
MAX_SESSION_ID = 50
# SessionIds the relay derives from a request's content begin with this (``fingerprint``). A caller's own
# session_id may not: derived ids are predictable, and a caller who took one would make the request it
# belongs to a "duplicate" of the caller's task. Compared without case, width or invisible characters,
# in case VOD compares ids more loosely than byte for byte.
DERIVED_SESSION_PREFIX = "er-"
MAX_CONTEXT = 1000
MIN_PRIORITY, MAX_PRIORITY = -10, 10
MAX_VIDEO_BYTES = 200 * 1024 * 1024
# Product limits against abuse (the API documents none for these).
MAX_TAGS = 50
MAX_TAG = 100
MAX_VOICE_ID = 100
MAX_CALLBACK_URL = 2048
# Errors stay small whatever the input held: so many problems listed, field names cut to this length.
MAX_PROBLEMS = 50
MAX_FIELD_TEXT = 100

if TYPE_CHECKING:  # for mypy; at run time a plain str (a Literal costs some 40 us to build)
    ReferenceType = Literal["image_refer", "video_refer"]
else:
    ReferenceType = str
log = logging.getLogger("relay.request")


class ElementRequest(Record):
    """A request to create one advanced custom element; field names are the public contract."""

    name: str | None = None
    description: str | None = None
    reference_type: ReferenceType | None = None
    frontal_image: str | None = None
    refer_images: list[str] | None = None
    video: str | None = None
    voice_id: str | None = None
    tags: list[str] | None = None
    overseas_library: bool | None = None  # DisableModeration: True selects the overseas element library
    session_id: str | None = None
    context: str | None = None
    priority: int | None = None
    sub_app_id: int | None = None
    callback_url: str | None = None

    def media_refs(self) -> list[str]:
        """The media this request submits, frontal image first (only those of its reference type)."""
        if self.reference_type == "video_refer":
            return [self.video] if self.video else []
        return ([self.frontal_image] if self.frontal_image else []) + list(self.refer_images or [])

    def names_media(self) -> bool:
        return bool(self.frontal_image or self.refer_images or self.video)

    def as_dict(self) -> dict[str, Any]:
        """The request as its JSON form, fields left unset omitted (it parses back to itself)."""
        return {k: list(v) if isinstance(v, list) else v for k, v in self._asdict().items() if v is not None}

    def replace(self, **changes: Any) -> ElementRequest:
        return self._replace(**changes)


def _text(max_length: int, min_length: int = 0) -> dict[str, Any]:
    return {"type": "str", "strict": True, "min_length": min_length, "max_length": max_length}


def _list(items: dict[str, Any], min_length: int, max_length: int) -> dict[str, Any]:
    return {"type": "list", "items_schema": items, "min_length": min_length, "max_length": max_length}


_MEDIA_REF = _text(MAX_REF, 1)
_FIELD_SCHEMAS: dict[str, dict[str, Any]] = {
    "name": _text(MAX_NAME, 1),
    "description": _text(MAX_DESCRIPTION),
    "reference_type": {"type": "literal", "expected": ["image_refer", "video_refer"]},
    "frontal_image": _MEDIA_REF,
    "refer_images": _list(_MEDIA_REF, MIN_REFER_IMAGES, MAX_REFER_IMAGES),
    "video": _MEDIA_REF,
    "voice_id": _text(MAX_VOICE_ID),
    "tags": _list(_text(MAX_TAG, 1), 0, MAX_TAGS),
    "overseas_library": {"type": "bool", "strict": True},
    "session_id": _text(MAX_SESSION_ID, 1),
    "context": _text(MAX_CONTEXT),
    "priority": {"type": "int", "strict": True, "ge": MIN_PRIORITY, "le": MAX_PRIORITY},
    "sub_app_id": {"type": "int", "strict": True, "gt": 0},
    "callback_url": _text(MAX_CALLBACK_URL, 1),
}
assert set(_FIELD_SCHEMAS) == set(ElementRequest._fields)
# Old field names still accepted (with a warning) under the name of the field they became.
DEPRECATED_NAMES = {"disable_moderation": "overseas_library"}
_VALIDATOR = SchemaValidator(
    {
        "type": "typed-dict",
        "fields": {
            name: {
                "type": "typed-dict-field",
                "schema": {"type": "nullable", "schema": schema},
                "required": False,
            }
            for name, schema in (
                *_FIELD_SCHEMAS.items(),
                *((old, _FIELD_SCHEMAS[new]) for old, new in DEPRECATED_NAMES.items()),
            )
        },
        "extra_behavior": "forbid",
    }  # a core schema written as plain data
)


def parse_request(data: object, *, manifest: bool = False) -> ElementRequest:
    """Validate ``data`` as an element request; ``manifest`` allows folder-relative media paths.

    Raises InputError naming every broken rule.
    """
    if not isinstance(data, dict):
        raise InputError.body(f"must be a JSON object, got {_json_type(data)}", code="InvalidElementRequest")
    merged = {k: v for k, v in data.items() if v is not None}
    try:
        values = _VALIDATOR.validate_python(merged)
    except ValidationError as exc:
        # from None on purpose: pydantic's text echoes input values, and a media URL may be presigned
        raise InputError.from_problems(problems_from_validation(exc)) from None
    request = ElementRequest(**_renamed(values))
    problems = _check_media(request, manifest=manifest) + _check_session_id(request.session_id)
    if manifest and not problems and not request.names_media():
        return request  # the media come from the folder; the caller validates the whole again
    if not problems:
        request, problems = _resolve_reference_type(request)
    if problems:
        raise InputError.from_problems(tuple(problems))
    if request.voice_id and request.reference_type == "image_refer":
        log.warning("voice_id is documented as effective only for video_refer elements; it is sent anyway")
    return request


def _renamed(values: dict[str, Any]) -> dict[str, Any]:
    """Deprecated field names moved to their new names (a warning each); both names with different
    values is an InputError naming both."""
    for old, new in DEPRECATED_NAMES.items():
        if old not in values:
            continue
        value = values.pop(old)
        if values.get(new, value) != value:
            raise InputError.field(
                old, f"is the deprecated name of {new} and contradicts it; send {new} only"
            )
        values[new] = value
        log.warning("%s is deprecated: it is the old name of %s (README, 'Element request')", old, new)
    return values


def _check_media(request: ElementRequest, *, manifest: bool) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    fields: list[tuple[str, str]] = []
    if request.frontal_image is not None:
        fields.append(("frontal_image", request.frontal_image))
    fields += [(f"refer_images[{i}]", ref) for i, ref in enumerate(request.refer_images or [])]
    if request.video is not None:
        fields.append(("video", request.video))
    for field, ref in fields:
        try:
            parsed = parse_media_ref(ref, allow_relative=manifest)
        except MediaRefError as exc:
            problems.append(FieldProblem(field, str(exc)))
            continue
        if field == "video" and not is_video_path(parsed.path):
            problems.append(FieldProblem("video", "must be an .mp4 or .mov file"))
    return problems


def _check_session_id(session_id: str | None) -> list[FieldProblem]:
    """A caller's own session_id lives outside the namespace of derived ids."""
    if session_id is None or not is_derived_namespace(session_id):
        return []
    problem = f"must not start with {DERIVED_SESSION_PREFIX!r} in any case or width: the derived ids' prefix"
    return [FieldProblem("session_id", problem)]


def is_derived_namespace(session_id: str) -> bool:
    """True when ``session_id`` starts with the derived ids' prefix, once folded (NFKC, no case) and
    stripped of invisible characters (spaces, controls, format characters)."""
    folded = unicodedata.normalize("NFKC", session_id[: MAX_SESSION_ID * 2])
    visible = "".join(c for c in folded[:16] if unicodedata.category(c)[0] not in "CZ")
    return visible.casefold().startswith(DERIVED_SESSION_PREFIX)


def _resolve_reference_type(request: ElementRequest) -> tuple[ElementRequest, list[FieldProblem]]:
    has_images = bool(request.frontal_image or request.refer_images)
    kind = request.reference_type
    if kind is None:
        if has_images and request.video:
            return request, [
                FieldProblem("reference_type", "is required when both images and a video are given")
            ]
        kind = "video_refer" if request.video else "image_refer"
    problems: list[FieldProblem] = []
    if kind == "image_refer":
        if not request.frontal_image:
            problems.append(FieldProblem("frontal_image", "is required for image_refer"))
        refer = request.refer_images or []
        if not refer:
            problems.append(
                FieldProblem("refer_images", f"{MIN_REFER_IMAGES} to {MAX_REFER_IMAGES} images are required")
            )
        for i, ref in enumerate(refer):
            if ref == request.frontal_image:
                problems.append(FieldProblem(f"refer_images[{i}]", "must differ from frontal_image"))
            elif ref in refer[:i]:
                problems.append(FieldProblem(f"refer_images[{i}]", "repeats an earlier reference image"))
    elif not request.video:
        problems.append(FieldProblem("video", "is required for video_refer"))
    return request.replace(reference_type=kind), problems


_MESSAGES = {
    "string_too_long": "must be at most {max_length} characters, got {actual}",
    "string_too_short": "must not be empty",
    "too_long": "must hold at most {max_length} items, got {actual}",
    "too_short": "must hold at least {min_length} item(s)",
    "extra_forbidden": "is not a field of the element request",
    "missing": "is required",
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "bool_type": "must be true or false",
    "list_type": "must be a list",
    "greater_than": "must be greater than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than_equal": "must be at most {le}",
    "literal_error": "must be one of {expected}",
}


def problems_from_validation(exc: ValidationError) -> tuple[FieldProblem, ...]:
    """pydantic errors → field problems with our wording; the offending values are never echoed."""
    problems = []
    errors = exc.errors(include_url=False, include_input=True)
    for error in errors[:MAX_PROBLEMS]:
        ctx = dict(error.get("ctx") or {})
        value = error.get("input")
        ctx["actual"] = len(value) if isinstance(value, (str, list)) else "?"
        template = _MESSAGES.get(error["type"])
        problem = template.format(**ctx) if template else error["msg"].removeprefix("Value error, ")
        path = _field_path(error["loc"])  # an unknown key is the input's own text: keep it short
        path = path if len(path) <= MAX_FIELD_TEXT else path[: MAX_FIELD_TEXT - 1] + "…"
        problems.append(FieldProblem(path or "(body)", problem))
    if len(errors) > MAX_PROBLEMS:
        problems.append(FieldProblem("(body)", f"and {len(errors) - MAX_PROBLEMS} more problem(s)"))
    return tuple(problems)


def _field_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _json_type(value: object) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


# --- the request → CreateAigcAdvancedCustomElement's parameters and the SessionId ----------------------


def build_params(
    request: ElementRequest, media: Mapping[str, ResolvedMedia], *, default_sub_app_id: int | None
) -> dict[str, Any]:
    """The API parameters; ``ElementImageList``/``ElementVideoList``/``TagList`` as JSON strings."""
    params = _params(request, {ref: m.url for ref, m in media.items()}, default_sub_app_id)
    params["SessionId"] = request.session_id or derive_session_id(request, media, default_sub_app_id)
    return params


def derive_session_id(
    request: ElementRequest, media: Mapping[str, ResolvedMedia], default_sub_app_id: int | None
) -> str:
    """``er-`` + a hash of the parameters with each medium replaced by its identity (no signatures), and
    the request's own ``callback_url`` when it has one: the same content sent to another destination is
    another submission, so nobody takes over the completions of a request by sending its content first.
    Requests without a ``callback_url`` keep the ids they always had."""
    identity = _params(request, {ref: m.identity for ref, m in media.items()}, default_sub_app_id)
    if request.callback_url is not None:
        identity["callback_url"] = request.callback_url
    return fingerprint(identity)


def fingerprint(value: object) -> str:
    """A SessionId-shaped hash (43 characters) of any JSON value."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{DERIVED_SESSION_PREFIX}{digest[:40]}"


def default_name(request: ElementRequest) -> str:
    """The element name when none is given: the first medium's file name, shortened to fit."""
    refs = request.media_refs()
    stem = posixpath.splitext(posixpath.basename(parse_media_ref(refs[0]).path))[0] if refs else ""
    return (stem or "element")[:MAX_NAME]


def _params(
    request: ElementRequest, urls: Mapping[str, str], default_sub_app_id: int | None
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "ElementName": request.name or default_name(request),
        "ReferenceType": request.reference_type,
    }
    sub_app_id = request.sub_app_id or default_sub_app_id
    if sub_app_id is not None:
        params["SubAppId"] = sub_app_id
    if request.description is not None:
        params["ElementDescription"] = request.description
    if request.voice_id:
        params["ElementVoiceId"] = request.voice_id
    if request.reference_type == "video_refer":
        assert request.video is not None
        params["ElementVideoList"] = _json({"refer_videos": [{"video_url": urls[request.video]}]})
    else:
        assert request.frontal_image is not None
        params["ElementImageList"] = _json(
            {
                "frontal_image": urls[request.frontal_image],
                "refer_images": [{"image_url": urls[ref]} for ref in request.refer_images or []],
            }
        )
    if request.tags:
        params["TagList"] = _json([{"tag_id": tag} for tag in request.tags])
    if request.overseas_library is not None:  # VOD's DisableModeration: True = the overseas element library
        params["DisableModeration"] = "True" if request.overseas_library else "False"
    if request.context is not None:
        params["SessionContext"] = request.context
    if request.priority is not None:
        params["TasksPriority"] = request.priority
    return params


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
