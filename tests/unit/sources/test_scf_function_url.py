"""The scf function url trigger (its row of ``lib.sources.http_triggers.HTTP_TRIGGERS``): its sample
events, the request it builds, and its answer (the checks every HTTP adapter passes:
``tests/http_source_cases.py``).
"""

from __future__ import annotations

from lib.sources.http_triggers import HTTP_TRIGGERS, function_url_request
from tests.http_source_cases import HttpSourceCases


class TestScfFunctionUrl(HttpSourceCases):
    kind = "scf_function_url"
    source = HTTP_TRIGGERS["scf_function_url"]
    build = staticmethod(function_url_request)
    base64_flag = False
