"""The app's public address: links and redirects come from ``PUBLIC_BASE_URL``, never the Host.

A request's Host header is the client's to choose (and behind a proxy, ``X-Forwarded-Host`` too),
so nothing the app hands out (payer links, the sign-in ``redirect_uri``, sign-out return) is
built from it, and requests for any other host are refused. ``/health`` is exempt: a load
balancer's health check sends the target's IP address as its Host.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, has_request_context, request, url_for
from werkzeug.sansio.utils import host_is_trusted

HOST_CHECK_EXEMPT_PATHS = frozenset({"/health"})


def external_url(endpoint: str, **values: Any) -> str:
    """Return the absolute URL of ``endpoint`` on the configured public base URL.

    Works outside a request too (the sync command finishes links, whose return address it
    needs, from the command line).
    """
    base = current_app.extensions["settings"].public_base_url
    if has_request_context():
        # url_for without _external gives the path (with the script root) and never reads Host.
        return base + url_for(endpoint, **values)
    adapter = current_app.url_map.bind(urlsplit(base).netloc, url_scheme=urlsplit(base).scheme)
    return base + adapter.build(endpoint, values)


def allowed_hosts(public_base_url: str, trusted_hosts: tuple[str, ...]) -> tuple[str, ...]:
    """Return the host names this app answers for: the public base URL's and the extra ones."""
    return (urlsplit(public_base_url).hostname or "", *trusted_hosts)


def init_app(app: Flask) -> None:
    """Refuse requests for other hosts (400), before any other hook reads the request."""
    settings = app.extensions["settings"]
    hosts = allowed_hosts(settings.public_base_url, settings.trusted_hosts)

    @app.before_request
    def refuse_unknown_hosts() -> Response | None:
        if request.path in HOST_CHECK_EXEMPT_PATHS:
            return None
        if host_is_trusted(request.host, hosts):
            return None
        # Plain text, not the error page: a malformed Host (a label over 63 characters) leaves
        # Flask without a URL adapter, so a template calling url_for would fail with a 500.
        return Response(
            f"This server answers for {settings.public_base_url} only.\n",
            400,
            mimetype="text/plain",
        )
