"""POST /folders/scan (``lib.http.folder_scan``) through the API: the token, a 400 naming the field, the
counts and a cursor, and the call resumed from it."""

from __future__ import annotations

import json

from lib.http.api import serve
from lib.invocation import Invocation
from tests.fakes import FakeStorage
from tests.http_fakes import body_of, offline, request
from tests.unit.test_backfill import ENV, TOKEN, stage_folder, submitting


def test_the_route_needs_the_token_and_answers_the_counts_and_a_cursor() -> None:
    storage = FakeStorage()
    short = Invocation.from_context({"time_limit_in_ms": 5000})  # less than backfill.RESERVE_S: one chunk
    services = offline({**ENV, "API_TOKEN": TOKEN}, storage, invocation=short)
    for n in range(4):
        stage_folder(storage, f"f-{n}")
    refused = serve(lambda: request("POST", "/folders/scan", {"prefix": "elements/"}), services)
    assert refused.status == 401
    auth = {"Authorization": f"Bearer {TOKEN}"}
    bad = serve(lambda: request("POST", "/folders/scan", {"prefix": "x/"}, auth), services)
    assert bad.status == 400 and body_of(bad)["error"]["details"][0]["field"] == "prefix"
    with submitting(services):
        first = serve(lambda: request("POST", "/folders/scan", {"prefix": "elements/"}, auth), services)
        body = body_of(first)
        assert first.status == 200 and body["found"] == 3 and isinstance(body["cursor"], str)
        assert set(body) == {"found", "submitted", "already_done", "waiting", "failed", "cursor"}
        payload = {"prefix": "elements/", "cursor": body["cursor"]}
        second = body_of(serve(lambda: request("POST", "/folders/scan", payload, auth), services))
    assert (second["found"], second["cursor"]) == (1, None)
    assert json.dumps(second)  # plain JSON values
