"""The lambda function url adapter (``lib.sources.lambda_function_url``): its sample events, the request it
builds, and its answer (the checks every HTTP adapter passes: ``tests/http_source_cases.py``).
"""

from __future__ import annotations

from lib.sources.aws_http_api import to_request
from lib.sources.lambda_function_url import LambdaFunctionUrl
from tests.http_source_cases import HttpSourceCases


class TestLambdaFunctionUrl(HttpSourceCases):
    kind = "lambda_function_url"
    source = LambdaFunctionUrl()
    build = staticmethod(to_request)
    base64_flag = True
