"""One view renders either the full page or just a fragment of it, for htmx requests."""

from __future__ import annotations

from typing import Any

from flask import Response, make_response, render_template, request
from jinja2_fragments.flask import render_block


def request_is_partial() -> bool:
    """Return True for htmx requests that want a fragment (not history restores)."""
    return bool(request.headers.get("HX-Request")) and not request.headers.get(
        "HX-History-Restore-Request"
    )


def render_page_or_block(template: str, block: str, status: int = 200, **context: Any) -> Response:
    """Return the whole page, or only ``block`` of it for htmx, from the same template."""
    # ``partial`` tells a block it answers htmx (a poll marks its parts out of band).
    context.setdefault("partial", request_is_partial())
    if context["partial"]:
        body = render_block(template, block, **context)
    else:
        body = render_template(template, **context)
    response = make_response(body, status)
    response.vary.add("HX-Request")
    return response
