"""Reading what every API route reads the same way: the JSON body and the page size."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from flask import request

from dashboard.api.problems import Problem, ValidationProblem

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100


def json_request_body() -> Any:
    """Return the request's JSON body (numbers as Decimal, never float); 415 or 400 if none."""
    if not request.is_json:
        raise Problem(
            415, "Unsupported Media Type", "Send a JSON body with Content-Type: application/json."
        )
    try:
        return json.loads(request.get_data(cache=True), parse_float=Decimal)
    except ValueError:
        raise Problem(400, "Bad Request", "The request body is not valid JSON.") from None


def page_size(default: int = DEFAULT_PAGE_SIZE) -> int:
    """Return the ``limit`` query parameter (1 to 100), or the default; 400 if it is neither."""
    raw = request.args.get("limit", "")
    if raw == "":
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise ValidationProblem({"limit": f"Use a whole number from 1 to {MAX_PAGE_SIZE}."}, 400)
    return int(raw)
