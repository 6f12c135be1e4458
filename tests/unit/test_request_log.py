"""The app's own access log: one line per request, secrets in paths replaced, no query strings,
and the request id on every line a request logs."""

from __future__ import annotations

import logging
import re
import runpy
from pathlib import Path

import pytest
from botocore.exceptions import EndpointConnectionError
from flask import Flask

from dashboard.web.request_log import LOG_FORMAT, declared_path_secrets
from tests.unit.api_support import api_key_for, bearer

ROOT = Path(__file__).resolve().parents[2]
# Path parameters named like these hold secrets; their routes must say so (a new invitation or
# reset link then cannot slip into the logs unnoticed).
SECRET_LOOKING = re.compile(r"token|secret|link_id|password|code", re.IGNORECASE)


def _access_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "dashboard.access"]


def _requests_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Return the request and status of each access line, e.g. 'GET /health 200'."""
    lines = _access_lines(caplog)
    return [" ".join(re.search(r'"([^"]*)" (\d+)', line).groups()) for line in lines]


@pytest.mark.parametrize("failing_call", ["get_item", "update_item"])
def test_every_line_logged_while_an_api_key_is_checked_carries_the_request_id(
    app: Flask, client, caplog, monkeypatch, failing_call
):
    key = api_key_for(app)

    def unreachable(**_kwargs):
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:8000")

    monkeypatch.setattr(app.extensions["store"].client, failing_call, unreachable)
    caplog.set_level(logging.INFO)

    response = client.get("/api/v1/payments", headers=bearer(key))

    request_id = response.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings, "the failing DynamoDB call is logged"
    assert {r.request_id for r in caplog.records} == {request_id}
    formatted = logging.Formatter(LOG_FORMAT).format(warnings[0])
    assert f"[{request_id}]" in formatted


def test_a_payers_link_is_logged_without_its_token_or_query(client, caplog):
    caplog.set_level(logging.INFO)

    client.get("/pay/tok_9f8e7d6c5b4a39281706?payment_id=tl-pay-123&email=ann@example.com")

    assert _requests_logged(caplog) == ["GET /pay/[secret] 404"]
    assert not [line for line in _access_lines(caplog) if "tl-pay-123" in line or "ann@" in line]


def test_a_mistyped_sandbox_link_is_logged_without_the_link_id(client, caplog):
    caplog.set_level(logging.INFO)

    client.get("/sandbox/links/sbx-link-0a1b2c3d4e5f/bogus")
    client.get("/sandbox/links/sbx-link-0a1b2c3d4e5f/pay")  # a GET where only POST exists

    assert _requests_logged(caplog) == [
        "GET /sandbox/links/[secret] 404",
        "GET /sandbox/links/[secret] 405",
    ]


def test_the_sign_in_callback_is_logged_without_its_code_and_state(client, caplog):
    caplog.set_level(logging.INFO)

    client.get("/callback?code=SplxlOBeZQQYbYS6WxSbIA&state=af0ifjsldkj")

    assert _requests_logged(caplog) == ["GET /callback 400"]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "SplxlOBeZQQYbYS6WxSbIA" not in logged
    assert "af0ifjsldkj" not in logged


def test_each_access_line_has_the_address_method_path_status_and_request_id(client, caplog):
    caplog.set_level(logging.INFO)

    response = client.get("/health", headers={"X-Request-ID": "lb-probe-42"})

    (record,) = [r for r in caplog.records if r.name == "dashboard.access"]
    assert response.headers["X-Request-ID"] == "lb-probe-42"
    assert record.request_id == "lb-probe-42"
    assert re.fullmatch(r'127\.0\.0\.1 "GET /health" 200 \d+ \d+ms', record.getMessage())


def test_a_request_id_that_could_forge_log_lines_is_replaced(client):
    forged = 'x] 10.0.0.1 "GET /admin" 200 0 1ms [y'

    response = client.get("/health", headers={"X-Request-ID": forged})

    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


def test_every_route_with_a_secret_looking_path_parameter_declares_it(app: Flask):
    declared = declared_path_secrets(app)

    undeclared = [
        f"{rule.rule} ({name})"
        for rule in app.url_map.iter_rules()
        for name in rule.arguments
        if SECRET_LOOKING.search(name) and name not in declared.get(rule.endpoint, ())
    ]

    assert undeclared == []
    assert declared["payer.payment_result"] == ("token",)
    assert declared["sandbox.hosted_page"] == ("link_id",)


def test_gunicorn_and_the_development_server_leave_request_lines_to_the_app(app: Flask):
    gunicorn = runpy.run_path(str(ROOT / "gunicorn.conf.py"))

    assert gunicorn.get("accesslog") is None  # its format cannot redact path segments
    assert logging.getLogger("werkzeug").getEffectiveLevel() >= logging.WARNING
