"""``/api/v1/webhook-endpoints`` over the JSON API: shapes, secrets shown once, keys, accounts."""

from __future__ import annotations

import pytest

from dashboard.domain.api_keys import KeyScope
from dashboard.domain.audit import AuditAction
from dashboard.domain.events import EventType
from dashboard.store.audit import AuditFilter
from tests.conftest import actor_for
from tests.unit.api_support import ALICE, BOB, api_key_for, assert_problem, bearer

URL = "/api/v1/webhook-endpoints"
NEW_ENDPOINT = {
    "url": "https://shop.example/webhooks",
    "event_types": ["payment.completed", "refund.executed"],
    "description": "Shop backend",
}


@pytest.fixture
def alice(app):
    """Alice's full-access API key headers."""
    return bearer(api_key_for(app, ALICE))


def _add(client, headers, body=None, **extra_headers):
    response = client.post(URL, json=body or NEW_ENDPOINT, headers={**headers, **extra_headers})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json


def test_an_added_endpoint_is_answered_once_with_its_secret_and_listed_without(app, client, alice):
    added = _add(client, alice)

    assert set(added) == {
        "id",
        "url",
        "event_types",
        "description",
        "status",
        "disabled_reason",
        "created_at",
        "updated_at",
        "secret",
    }
    assert added["secret"].startswith("whsec_")
    assert added["event_types"] == ["payment.completed", "refund.executed"]
    assert added["status"] == "active"
    listed = client.get(URL, headers=alice).json["data"]
    assert listed == [{k: v for k, v in added.items() if k != "secret"}]
    assert added["secret"] not in client.get(URL, headers=alice).get_data(as_text=True)


def test_all_event_types_may_be_asked_for(client, alice):
    added = _add(client, alice, {"url": "https://shop.example/hooks", "event_types": "all"})
    assert added["event_types"] == sorted(t.value for t in EventType)
    assert added["description"] is None


def test_refused_input_is_a_422_naming_each_field(client, alice):
    response = client.post(
        URL,
        json={"url": "http://shop.example", "event_types": [], "description": "x" * 141},
        headers=alice,
    )
    body = assert_problem(response, 422, "validation-error")
    assert set(body["errors"]) == {"url", "event_types", "description"}
    unknown = client.post(URL, json={**NEW_ENDPOINT, "secret": "mine"}, headers=alice)
    assert set(assert_problem(unknown, 422, "validation-error")["errors"]) == {"secret"}
    assert client.get(URL, headers=alice).json["data"] == []


def test_the_same_idempotency_key_adds_one_endpoint_and_never_stores_the_secret_in_clear(
    app, client, alice
):
    first = _add(client, alice, **{"Idempotency-Key": "add-endpoint-1"})
    again = _add(client, alice, **{"Idempotency-Key": "add-endpoint-1"})

    assert again == first
    assert len(client.get(URL, headers=alice).json["data"]) == 1
    store = app.extensions["store"]
    for table in store.tables.all():
        items = store.client.scan(TableName=table)["Items"]
        assert first["secret"] not in repr(items), table
        assert first["secret"].removeprefix("whsec_") not in repr(items), table


def test_another_request_with_a_used_idempotency_key_is_refused(client, alice):
    _add(client, alice, **{"Idempotency-Key": "add-endpoint-2"})
    other = client.post(
        URL,
        json={**NEW_ENDPOINT, "url": "https://other.example/hooks"},
        headers={**alice, "Idempotency-Key": "add-endpoint-2"},
    )
    assert_problem(other, 422, "idempotency-key-reused")


def test_rotating_answers_a_new_secret_and_both_sign_for_a_day(app, client, alice):
    added = _add(client, alice)

    response = client.post(f"{URL}/{added['id']}/rotate-secret", headers=alice)

    assert response.status_code == 200, response.get_data(as_text=True)
    rotated = response.json
    assert rotated["id"] == added["id"]
    assert rotated["secret"] not in (None, added["secret"])
    service = app.extensions["webhook_endpoints"]
    endpoint = service.get(ALICE, added["id"])
    assert service.signing_secrets(endpoint, endpoint.updated_at) == [
        rotated["secret"],
        added["secret"],
    ]


def test_a_deleted_endpoint_is_a_204_then_a_404(client, alice):
    added = _add(client, alice)

    deleted = client.delete(f"{URL}/{added['id']}", headers=alice)

    assert deleted.status_code == 204
    assert deleted.get_data() == b""
    assert client.get(URL, headers=alice).json["data"] == []
    assert_problem(client.delete(f"{URL}/{added['id']}", headers=alice), 404, "not-found")
    assert_problem(client.delete(f"{URL}/not-an-id", headers=alice), 404, "not-found")


def test_another_accounts_endpoint_is_not_found(app, client, alice):
    added = _add(client, alice)
    bob = bearer(api_key_for(app, BOB))

    assert client.get(URL, headers=bob).json["data"] == []
    assert_problem(client.delete(f"{URL}/{added['id']}", headers=bob), 404, "not-found")
    assert_problem(client.post(f"{URL}/{added['id']}/rotate-secret", headers=bob), 404, "not-found")
    assert len(client.get(URL, headers=alice).json["data"]) == 1


def test_a_read_only_key_may_list_but_not_change_endpoints(app, client, alice):
    added = _add(client, alice)
    _key, presented = app.extensions["api_keys"].create_key(
        actor_for(ALICE), "Reporting", scope=KeyScope.READ_ONLY
    )
    read_only = bearer(presented)

    assert len(client.get(URL, headers=read_only).json["data"]) == 1
    assert_problem(client.post(URL, json=NEW_ENDPOINT, headers=read_only), 403, "forbidden")
    assert_problem(client.delete(f"{URL}/{added['id']}", headers=read_only), 403, "forbidden")
    assert_problem(
        client.post(f"{URL}/{added['id']}/rotate-secret", headers=read_only), 403, "forbidden"
    )
    assert len(client.get(URL, headers=alice).json["data"]) == 1


def test_the_eleventh_endpoint_is_refused_and_says_why(client, alice):
    for number in range(10):
        _add(client, alice, {**NEW_ENDPOINT, "url": f"https://shop.example/{number}"})

    refused = assert_problem(client.post(URL, json=NEW_ENDPOINT, headers=alice), 409, "conflict")
    assert "at most 10 webhook endpoints" in refused["detail"]


def test_a_rotation_retried_with_its_idempotency_key_rotates_once(app, client, alice):
    added = _add(client, alice)
    headers = {**alice, "Idempotency-Key": "rotate-1"}

    first = client.post(f"{URL}/{added['id']}/rotate-secret", headers=headers).json
    again = client.post(f"{URL}/{added['id']}/rotate-secret", headers=headers).json

    assert again["secret"] == first["secret"]
    service = app.extensions["webhook_endpoints"]
    endpoint = service.get(ALICE, added["id"])
    assert service.signing_secrets(endpoint, endpoint.updated_at) == [
        first["secret"],
        added["secret"],
    ]


def test_a_browser_session_needs_a_recent_sign_in_to_add_an_endpoint(app, client):
    from tests.unit.conftest import csrf_token, sign_in

    sign_in(client, ALICE)
    sessions = app.extensions["sessions"]
    sessions_clock = sessions.clock
    token = csrf_token(client)
    # The sign-in is old by the time the form is sent.
    from datetime import timedelta

    sessions.clock = lambda: sessions_clock() + timedelta(minutes=10)
    try:
        response = client.post(URL, json=NEW_ENDPOINT, headers={"X-CSRFToken": token})
    finally:
        sessions.clock = sessions_clock
    assert_problem(response, 401, "step-up-required")
    assert app.extensions["webhook_endpoints"].list(ALICE) == []


def test_the_audit_log_page_shows_an_added_endpoint_by_its_url(app, client, alice):
    from tests.unit.conftest import sign_in

    _add(client, alice)
    sign_in(client, ALICE)

    rows = client.get("/settings/audit-log").get_data(as_text=True).split("<tbody")[1]

    assert "Webhook endpoint added" in rows
    assert "Webhook endpoint</span>" in rows
    assert NEW_ENDPOINT["url"] in rows


def test_an_endpoint_is_disabled_and_enabled_again_and_each_change_is_audited(app, client, alice):
    added = _add(client, alice)

    disabled = client.post(f"{URL}/{added['id']}/disable", headers=alice)
    again = client.post(f"{URL}/{added['id']}/disable", headers=alice)
    enabled = client.post(f"{URL}/{added['id']}/enable", headers=alice)

    assert disabled.status_code == 200
    assert disabled.json["status"] == "disabled"
    assert disabled.json["disabled_reason"] == "Disabled through the API."
    assert again.json["status"] == "disabled"
    assert enabled.json["status"] == "active"
    assert enabled.json["disabled_reason"] is None
    assert "secret" not in disabled.json
    audit = app.extensions["store"].audit
    for action in (AuditAction.WEBHOOK_ENDPOINT_DISABLED, AuditAction.WEBHOOK_ENDPOINT_ENABLED):
        entries = audit.newest_first(ALICE, AuditFilter(action=action), 5).entries
        assert len(entries) == 1, action  # disabling twice is one change


def test_another_accounts_endpoint_cannot_be_disabled(app, client, alice):
    added = _add(client, alice)
    bob = bearer(api_key_for(app, BOB))

    assert_problem(client.post(f"{URL}/{added['id']}/disable", headers=bob), 404, "not-found")
    assert client.get(URL, headers=alice).json["data"][0]["status"] == "active"
