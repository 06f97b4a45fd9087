"""The scf api gateway trigger (its row of ``lib.sources.http_triggers.HTTP_TRIGGERS``): its sample
events, the request it builds, and its answer (the checks every HTTP adapter passes:
``tests/http_source_cases.py``).
"""

from __future__ import annotations

from lib.sources.http_triggers import HTTP_TRIGGERS, api_gateway_request
from tests.http_source_cases import HttpSourceCases


class TestScfApiGateway(HttpSourceCases):
    kind = "scf_api_gateway"
    source = HTTP_TRIGGERS["scf_api_gateway"]
    build = staticmethod(api_gateway_request)
    base64_flag = True
