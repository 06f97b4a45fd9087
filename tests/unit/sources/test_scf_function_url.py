"""The scf function url adapter (``lib.sources.scf_function_url``): its sample events, the request it
builds, and its answer (the checks every HTTP adapter passes: ``tests/http_source_cases.py``).
"""

from __future__ import annotations

from lib.sources.scf_function_url import ScfFunctionUrl, to_request
from tests.http_source_cases import HttpSourceCases


class TestScfFunctionUrl(HttpSourceCases):
    kind = "scf_function_url"
    source = ScfFunctionUrl()
    build = staticmethod(to_request)
    base64_flag = False
