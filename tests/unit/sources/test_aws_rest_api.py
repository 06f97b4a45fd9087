"""The aws rest api trigger (its row of ``lib.sources.http_triggers.HTTP_TRIGGERS``): its sample
events, the request it builds, and its answer (the checks every HTTP adapter passes:
``tests/http_source_cases.py``).
"""

from __future__ import annotations

from lib.sources.http_triggers import HTTP_TRIGGERS, rest_request
from tests.http_source_cases import HttpSourceCases


class TestAwsRestApi(HttpSourceCases):
    kind = "aws_rest_api"
    source = HTTP_TRIGGERS["aws_rest_api"]
    build = staticmethod(rest_request)
    base64_flag = True
