"""AWS Lambda function URL (docs/platform.md §1.3): the HTTP API payload 2.0 schema, sent from a
``<url-id>.lambda-url.<region>.on.aws`` domain, with ``routeKey`` and ``stage`` "$default".
The conversion is the HTTP API's; only the recognition differs, so both stay exclusive.
"""

from __future__ import annotations

from typing import Any

from lib.sources.aws_http_api import AwsHttpApi
from lib.sources.shapes import is_lambda_function_url


class LambdaFunctionUrl(AwsHttpApi):
    name = "lambda_function_url"

    def matches(self, event: dict[str, Any]) -> bool:
        return is_lambda_function_url(event)
