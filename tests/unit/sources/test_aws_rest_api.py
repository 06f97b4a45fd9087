"""The aws rest api adapter (``lib.sources.aws_rest_api``): its sample events, the request it
builds, and its answer (the checks every HTTP adapter passes: ``tests/http_source_cases.py``).
"""

from __future__ import annotations

from lib.sources.aws_rest_api import AwsRestApi, to_request
from tests.http_source_cases import HttpSourceCases


class TestAwsRestApi(HttpSourceCases):
    kind = "aws_rest_api"
    source = AwsRestApi()
    build = staticmethod(to_request)
    base64_flag = True
