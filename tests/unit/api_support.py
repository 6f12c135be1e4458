"""Helpers shared by the JSON API tests: keys, headers, and what a problem answer must hold."""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.test import TestResponse

from tests.conftest import actor_for

ALICE = "alice@example.com"
BOB = "bob@example.com"
NEW_PAYMENT = {"amount": "12.50", "currency": "GBP", "reference": "Invoice 42"}


def api_key_for(app: Flask, sub: str = ALICE, name: str = "Shop") -> str:
    """Return a new API key of the merchant, made through the API key service."""
    _key, presented = app.extensions["api_keys"].create_key(actor_for(sub), name)
    return presented


def bearer(key: str) -> dict[str, str]:
    """Return the Authorization header that presents ``key``."""
    return {"Authorization": f"Bearer {key}"}


def assert_problem(
    response: TestResponse, status: int, problem_type: str | None = None
) -> dict[str, Any]:
    """Check that the response is RFC 9457 problem details with this status; return its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    if problem_type is None:
        assert body["type"] == "about:blank"
    else:
        assert body["type"].endswith(f"/api/v1/docs#problem-{problem_type}")
    return body


def fail_storing_the_first_link(app: Flask, monkeypatch) -> None:
    """Make the first payment save after the provider made the link time out, as DynamoDB may."""
    from dashboard.store.dynamo import StoreUnavailable

    payments = app.extensions["store"].payments
    real_save, calls = payments.save, []

    def save_timing_out_once(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise StoreUnavailable("RequestTimeout")
        return real_save(*args, **kwargs)

    monkeypatch.setattr(payments, "save", save_timing_out_once)


def every_page(client, url: str, headers: dict[str, str], **query) -> list[list[dict]]:
    """Return the ``data`` of each page of a list, following ``next_cursor`` until null."""
    pages, cursor = [], None
    while True:
        page = client.get(
            url, query_string={**query, **({"cursor": cursor} if cursor else {})}, headers=headers
        ).json
        pages.append(page["data"])
        cursor = page["next_cursor"]
        if cursor is None:
            return pages
