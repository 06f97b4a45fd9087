"""The aws http api adapter (``lib.sources.aws_http_api``): its sample events, the request it
builds, and its answer (the checks every HTTP adapter passes: ``tests/http_source_cases.py``).
"""

from __future__ import annotations

from lib.sources.aws_http_api import AwsHttpApi, to_request
from tests.http_source_cases import HttpSourceCases


class TestAwsHttpApi(HttpSourceCases):
    kind = "aws_http_api"
    source = AwsHttpApi()
    build = staticmethod(to_request)
    base64_flag = True
