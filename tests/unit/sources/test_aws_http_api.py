"""The aws http api trigger (its row of ``lib.sources.http_triggers.HTTP_TRIGGERS``): its sample
events, the request it builds, and its answer (the checks every HTTP adapter passes:
``tests/http_source_cases.py``).
"""

from __future__ import annotations

from lib.sources.http_triggers import HTTP_TRIGGERS, v2_request
from tests.http_source_cases import HttpSourceCases


class TestAwsHttpApi(HttpSourceCases):
    kind = "aws_http_api"
    source = HTTP_TRIGGERS["aws_http_api"]
    build = staticmethod(v2_request)
    base64_flag = True
