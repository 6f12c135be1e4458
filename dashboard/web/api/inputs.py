"""Reading what every API route reads the same way: the JSON body, its text fields, page size."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from flask import request

from dashboard.web.api.problems import Problem, ValidationProblem

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
    # Nested deeper than the parser goes, or a number Decimal cannot hold: refused alike.
    except (ValueError, RecursionError, ArithmeticError):
        raise Problem(400, "Bad Request", "The request body is not valid JSON.") from None


def text_field(
    body: Mapping[str, Any], name: str, errors: dict[str, str], not_text: str = "Send a string."
) -> str | None:
    """Return a body field as stripped text, None when absent, null or blank.

    A value that is not a string, or not valid Unicode, adds a message to ``errors`` (``not_text``
    for a non-string) and gives None.
    """
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        errors[name] = not_text
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate escape ("\ud800") is not text DynamoDB takes
        errors[name] = "Send valid Unicode text."
        return None
    return value.strip() or None


def page_size(default: int = DEFAULT_PAGE_SIZE) -> int:
    """Return the ``limit`` query parameter (1 to 100), or the default; 400 if it is neither."""
    raw = request.args.get("limit", "")
    if raw == "":
        return default
    # ASCII digits only: "²".isdigit() is True, yet int("²") fails.
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise ValidationProblem({"limit": f"Use a whole number from 1 to {MAX_PAGE_SIZE}."}, 400)
    return int(raw)
