"""The checks every HTTP source adapter passes, written once: each ``tests/unit/sources/test_<adapter>.py``
subclasses ``HttpSourceCases`` with its adapter (pytest collects the subclass's ``Test...`` class)."""

from __future__ import annotations

import base64
import json
from typing import Any, ClassVar

import pytest

from lib.http.model import HttpRequest
from lib.sources import EventSource
from tests.source_cases import authorised, matching, run, sample


def sent_body(event: dict[str, Any]) -> Any:
    """The JSON the sample's client sent, read straight from the event."""
    body = event["body"]
    if event.get("isBase64Encoded") in (True, "true"):
        body = base64.b64decode(body).decode()
    return json.loads(body) if isinstance(body, str) else body


class HttpSourceCases:
    kind: ClassVar[str]  # the adapter's name, and its folder under events/http/
    source: ClassVar[EventSource]
    base64_flag: ClassVar[bool]  # whether its answer carries isBase64Encoded

    @staticmethod
    def build(event: dict[str, Any]) -> HttpRequest:
        """The adapter's ``to_request``."""
        raise NotImplementedError

    @classmethod
    def sample(cls, name: str = "request.json") -> dict[str, Any]:
        return sample(f"http/{cls.kind}/{name}")

    def test_its_samples_are_taken_by_this_adapter_only(self) -> None:
        for name in ("request.json", "invalid.json"):
            event = self.sample(name)
            assert matching(event) == [self.kind]
            assert self.source.matches(event)

    def test_an_authorised_request_is_submitted_as_an_http_request(self) -> None:
        outcome = run(authorised(self.sample()))
        assert outcome.result["statusCode"] in (200, 202)
        assert ("isBase64Encoded" in outcome.result) is self.base64_flag
        assert json.loads(outcome.result["body"])["task_id"] == "task-1"
        [job] = outcome.jobs
        assert job.source.kind == "http"
        sent = sent_body(self.sample())
        if "name" in sent:  # an element request (not a folder)
            assert job.request.name == sent["name"]

    def test_without_the_token_nothing_is_submitted(self) -> None:
        outcome = run(self.sample())
        assert outcome.result["statusCode"] == 401
        assert outcome.result["headers"]["WWW-Authenticate"] == "Bearer"
        assert outcome.jobs == []

    def test_an_invalid_request_is_answered_with_the_field(self) -> None:
        outcome = run(authorised(self.sample("invalid.json")))
        assert outcome.result["statusCode"] in (400, 422)
        body = json.loads(outcome.result["body"])
        assert body["error"]["details"][0]["field"]
        assert outcome.jobs == []

    def test_the_request_it_builds(self) -> None:
        request = self.build(authorised(self.sample()))
        assert request.method == "POST"
        assert request.path.startswith("/elements")
        assert request.header("Authorization") == "Bearer tok-source-cases"
        assert json.loads(request.body) == sent_body(self.sample())

    def test_a_body_flagged_base64_must_be_base64(self) -> None:
        event = authorised(self.sample())
        event["isBase64Encoded"] = True
        event["body"] = "not base64!"
        outcome = run(event)
        assert outcome.result["statusCode"] == 400
        assert "base64" in json.loads(outcome.result["body"])["error"]["message"]
        with pytest.raises(Exception, match="base64"):
            self.build(event)
