"""The scf api gateway adapter (``lib.sources.scf_api_gateway``): its sample events, the request it
builds, and its answer (the checks every HTTP adapter passes: ``tests/http_source_cases.py``).
"""

from __future__ import annotations

from lib.sources.scf_api_gateway import ScfApiGateway, to_request
from tests.http_source_cases import HttpSourceCases


class TestScfApiGateway(HttpSourceCases):
    kind = "scf_api_gateway"
    source = ScfApiGateway()
    build = staticmethod(to_request)
    base64_flag = True
