"""The docs page's reading of the OpenAPI document: endpoints, fields and curl examples.

The page is generated from the same document that ``/api/v1/openapi.json`` serves, so the two
cannot disagree.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

_REF_PREFIX = "#/components/"


@dataclass(frozen=True)
class Field:
    """One parameter or body field, as the page lists it."""

    name: str
    where: str  # "query", "path", "header" or "body"
    kind: str
    required: bool
    description: Markup


@dataclass(frozen=True)
class EndpointDoc:
    """One endpoint as the page shows it."""

    anchor: str
    method: str
    path: str
    summary: str
    description: Markup
    public: bool
    fields: list[Field]
    # status, description, what the body is ("" for a problem: they share one line, below)
    responses: list[tuple[str, Markup, str]]
    problem_statuses: list[str]  # the statuses answered with problem details
    curl: str


@dataclass
class Section:
    """The endpoints of one tag."""

    name: str
    description: str
    endpoints: list[EndpointDoc] = field(default_factory=list)


def inline_code(text: str) -> Markup:
    """Return text for the page: escaped, with its `backtick` spans shown as code."""
    pieces = str(escape(text)).split("`")
    html = "".join(f"<code>{p}</code>" if n % 2 else p for n, p in enumerate(pieces))
    return Markup(html)  # noqa: S704 - every piece was escaped above


def resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Return the object a ``$ref`` points at (or the node itself)."""
    while "$ref" in node:
        kind, name = node["$ref"].removeprefix(_REF_PREFIX).split("/", 1)
        node = spec["components"][kind][name]
    return node


def describe_schema(spec: dict[str, Any], schema: dict[str, Any]) -> str:
    """Return a schema in a few words: type, format, allowed values, limits."""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[1]
    kinds = schema.get("type", "object")
    kinds = [kinds] if isinstance(kinds, str) else kinds
    words = " or ".join(kinds)
    if "format" in schema:
        words += f" ({schema['format']})"
    if "enum" in schema:
        words += ": " + ", ".join(str(v) for v in schema["enum"])
    limits = [
        f"{label} {schema[key]}"
        for key, label in (
            ("minLength", "min length"),
            ("maxLength", "max length"),
            ("minimum", "min"),
            ("maximum", "max"),
        )
        if key in schema
    ]
    return words + (f"; {', '.join(limits)}" if limits else "")


def describe_endpoints(spec: dict[str, Any], base_url: str) -> list[Section]:
    """Return the document's endpoints grouped by tag, in the document's order."""
    sections = {t["name"]: Section(t["name"], t.get("description", "")) for t in spec["tags"]}
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            sections[operation["tags"][0]].endpoints.append(
                _endpoint(spec, base_url, method, path, operation)
            )
    return list(sections.values())


def _endpoint(
    spec: dict[str, Any], base_url: str, method: str, path: str, operation: dict[str, Any]
) -> EndpointDoc:
    fields = []
    for parameter in operation.get("parameters", []):
        parameter = resolve(spec, parameter)
        fields.append(
            Field(
                parameter["name"],
                parameter["in"],
                describe_schema(spec, parameter["schema"]),
                parameter.get("required", False),
                inline_code(parameter.get("description", "")),
            )
        )
    example = None
    if body := operation.get("requestBody"):
        media = body["content"]["application/json"]
        example = media.get("example")
        schema = resolve(spec, media["schema"])
        for name, prop in schema["properties"].items():
            fields.append(
                Field(
                    name,
                    "body",
                    describe_schema(spec, prop),
                    name in schema.get("required", []),
                    inline_code(prop.get("description", "")),
                )
            )
    answers = sorted(operation["responses"].items())
    responses = [
        (status, inline_code(answer["description"]), _body_name(answer))
        for status, answer in answers
    ]
    public = operation.get("security") == []
    return EndpointDoc(
        anchor=operation["operationId"],
        method=method.upper(),
        path=spec["servers"][0]["url"] + path,
        summary=operation["summary"],
        description=inline_code(operation.get("description", "")),
        public=public,
        fields=fields,
        responses=responses,
        problem_statuses=[status for status, answer in answers if _is_problem(answer)],
        curl=curl_example(base_url, method, path, public, example, operation),
    )


def _is_problem(answer: dict[str, Any]) -> bool:
    return any(
        media_type.startswith("application/problem") for media_type in answer.get("content", {})
    )


def _body_name(answer: dict[str, Any]) -> str:
    """Return what an answer's body is: its schema's name, another media type, or "" for none.

    Problem answers give "" too: the page names their body once, under the responses.
    """
    if _is_problem(answer):
        return ""
    for media_type, content in answer.get("content", {}).items():
        ref = content.get("schema", {}).get("$ref")
        return ref.rsplit("/", 1)[1] if ref else media_type
    return ""


def curl_example(
    base_url: str,
    method: str,
    path: str,
    public: bool,
    example: Any,
    operation: dict[str, Any],
) -> str:
    """Return a curl command for the endpoint, with the API key from $API_KEY."""
    url = base_url + re.sub(r"\{(\w+)\}", lambda m: "$" + m[1].upper(), path)
    lines = [f'curl -X {method.upper()} "{url}"' if method != "get" else f'curl "{url}"']
    if not public:
        lines.append('-H "Authorization: Bearer $API_KEY"')
    if any(p.get("$ref", "").endswith("/IdempotencyKey") for p in operation.get("parameters", [])):
        lines.append('-H "Idempotency-Key: $(uuidgen)"')
    if example is not None:
        lines.append('-H "Content-Type: application/json"')
        lines.append(f"-d '{json.dumps(example)}'")
    return " \\\n  ".join(lines)
