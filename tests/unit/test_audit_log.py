"""Reading the audit log: newest first, paged by cursor, filtered by actor, action and dates (one
Query each, never a Scan); the Settings page, its CSV export, the API, and sign-ins and outs."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date, timedelta

import pytest
from moto import mock_aws

from dashboard.domain.actor import Person, Role
from dashboard.domain.api_keys import KeyScope
from dashboard.domain.audit import AuditAction, AuditNote
from dashboard.domain.permissions import Permission, can
from dashboard.services.audit import AuditQuery, InvalidCursor
from tests.conftest import csrf_token_from
from tests.oidc_standin import CLIENT_ID, OidcStandIn
from tests.unit.api_support import api_key_for, bearer
from tests.unit.audit_support import ACCOUNT, ALICE, SHOP_KEY, START, audit_service, logged
from tests.unit.conftest import csrf_token, sign_in

ALICE_EMAIL = "alice@example.com"


def record(store, actor, action, at, target_id="t1", **after):
    """Append an entry as its change would write it (no change around it, for reading tests)."""
    entry = AuditNote(actor, action, at).entry("payment", target_id, after=after)
    store.audit.append(entry)
    return entry


@pytest.fixture
def history(store):
    """Nine entries over three days: Alice creates and cancels, the shop's key creates."""
    entries = []
    for day in range(3):
        at = START + timedelta(days=day)
        entries.append(record(store, ALICE, AuditAction.PAYMENT_LINK_CREATED, at))
        entries.append(
            record(store, ALICE, AuditAction.PAYMENT_LINK_CANCELLED, at + timedelta(hours=2))
        )
        entries.append(
            record(store, SHOP_KEY, AuditAction.PAYMENT_LINK_CREATED, at + timedelta(hours=1))
        )
    return sorted(entries, key=lambda e: e.at, reverse=True)


@pytest.fixture
def no_scans(store, monkeypatch):
    def refuse(**_request):
        raise AssertionError("the audit log never scans")

    monkeypatch.setattr(store.client, "scan", refuse)


def read_all(service, query, page_size):
    pages, cursor = [], None
    while True:
        page = service.list_entries(ACCOUNT, query, cursor, page_size)
        pages.append(page.entries)
        cursor = page.next_cursor
        if cursor is None:
            return pages


def test_the_log_reads_newest_first_a_page_at_a_time(store, history, no_scans):
    pages = read_all(audit_service(store), AuditQuery(), page_size=4)

    assert [len(p) for p in pages] == [4, 4, 1]
    assert [e.entry_id for p in pages for e in p] == [e.entry_id for e in history]


@pytest.mark.parametrize(
    ("query", "wanted"),
    [
        (AuditQuery(actor=SHOP_KEY.who), lambda e: e.actor == "ShopKey00001"),
        (
            AuditQuery(action=AuditAction.PAYMENT_LINK_CANCELLED),
            lambda e: e.action.value.endswith("cancelled"),
        ),
        (
            AuditQuery(actor=ALICE.who, action=AuditAction.PAYMENT_LINK_CREATED),
            lambda e: e.actor == ALICE.who and e.action is AuditAction.PAYMENT_LINK_CREATED,
        ),
        (
            AuditQuery(first_day=date(2026, 11, 21), last_day=date(2026, 11, 21)),
            lambda e: e.at.date() == date(2026, 11, 21),
        ),
        (
            AuditQuery(actor=ALICE.who, first_day=date(2026, 11, 22)),
            lambda e: e.actor == ALICE.who and e.at.date() >= date(2026, 11, 22),
        ),
        (
            AuditQuery(action=AuditAction.PAYMENT_LINK_CREATED, last_day=date(2026, 11, 20)),
            lambda e: (
                e.action is AuditAction.PAYMENT_LINK_CREATED and e.at.date() <= date(2026, 11, 20)
            ),
        ),
    ],
)
def test_each_filter_is_one_query_and_pages_like_the_whole_log(
    store, history, no_scans, query, wanted
):
    pages = read_all(audit_service(store), query, page_size=2)

    found = [e.entry_id for p in pages for e in p]
    assert found == [e.entry_id for e in history if wanted(e)]
    assert found  # each case matches something
    assert all(len(p) <= 2 for p in pages)


def test_a_cursor_only_continues_the_list_it_came_from(store, history):
    service = audit_service(store)
    cursor = service.list_entries(ACCOUNT, AuditQuery(), None, 2).next_cursor

    with pytest.raises(InvalidCursor):
        service.list_entries(ACCOUNT, AuditQuery(actor=ALICE.who), cursor, 2)
    with pytest.raises(InvalidCursor):
        service.list_entries("acct_other", AuditQuery(), cursor, 2)


def test_another_accounts_entries_are_never_shown(store, history):
    assert audit_service(store).list_entries("acct_other", AuditQuery()).entries == []


@pytest.mark.parametrize("role", list(Role))
def test_only_owners_admins_and_api_keys_read_the_audit_log(role):
    person = replace(ALICE, role=role)

    assert can(person, Permission.READ_AUDIT_LOG) is (role in (Role.OWNER, Role.ADMIN))
    assert can(replace(SHOP_KEY, key_scope=KeyScope.FULL), Permission.READ_AUDIT_LOG)
    assert not can(replace(SHOP_KEY, key_scope=KeyScope.READ_ONLY), Permission.READ_AUDIT_LOG)


# The page, the export and the API ------------------------------------------------------------


def make_changes(client):
    """Create an API key and revoke it from the Settings page, as the merchant does."""
    page = client.get("/settings").get_data(as_text=True)
    token = csrf_token_from(page)
    key_token = page.split('name="key_token"')[1].split('value="')[1].split('"')[0]
    created = client.post(
        "/settings/api-keys",
        data={"csrf_token": token, "name": '=HYPERLINK("http://x")', "key_token": key_token},
    )
    assert created.status_code == 200
    keys = client.application.extensions["api_keys"].list_keys(ALICE_EMAIL)
    revoked = client.post(f"/settings/api-keys/{keys[0].key_id}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 303
    return keys[0]


def test_the_settings_page_shows_who_did_what_from_where(merchant):
    make_changes(merchant)

    page = merchant.get("/settings/audit-log")

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'href="/settings/audit-log"' in html
    assert 'aria-current="page">Audit log' in html
    rows = html.split("<tbody")[1]
    assert rows.index("API key revoked") < rows.index("API key created")  # newest first
    assert ALICE_EMAIL in html
    assert "127.0.0.1" in html
    assert "=HYPERLINK(" in rows  # the key, by its name (escaped, as all text)
    assert "Dashboard" in html  # via


def test_the_page_filters_by_action_and_pages_with_a_next_link(merchant):
    make_changes(merchant)
    app = merchant.application
    service = app.extensions["audit_log"]
    page = service.list_entries(ALICE_EMAIL, AuditQuery(), None, 1)
    assert page.next_cursor

    filtered = merchant.get("/settings/audit-log?action=api_key.created").get_data(as_text=True)
    assert "API key created" in filtered.split("<tbody")[1]
    assert "API key revoked" not in filtered.split("<tbody")[1]

    # The page continues from a cursor of the same filters, as its "Next page" link does.
    second = merchant.get("/settings/audit-log", query_string={"cursor": page.next_cursor})
    assert second.status_code == 200
    rows = second.get_data(as_text=True).split("<tbody")[1]
    assert "API key created" in rows
    assert "API key revoked" not in rows
    assert "Back to the newest entries" in second.get_data(as_text=True)
    other_list = merchant.get(
        "/settings/audit-log",
        query_string={"cursor": page.next_cursor, "action": "api_key.created"},
    )
    assert other_list.status_code == 400


def test_the_next_page_link_and_htmx_load_more_continue_the_log(merchant, monkeypatch):
    from dashboard.services import audit as audit_module

    make_changes(merchant)
    service = merchant.application.extensions["audit_log"]
    list_entries = service.list_entries
    monkeypatch.setattr(
        service, "list_entries", lambda a, q, c=None, size=1: list_entries(a, q, c, size)
    )
    assert audit_module.PAGE_SIZE > 1

    first = merchant.get("/settings/audit-log").get_data(as_text=True)
    next_url = first.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
    more = merchant.get(next_url.replace("&amp;", "&"), headers={"HX-Request": "true"})

    fragment = more.get_data(as_text=True)
    assert "<html" not in fragment  # only the rows, for htmx to put in place of the link
    assert "API key created" in fragment
    assert "API key revoked" not in fragment


def test_bad_filters_are_explained_not_guessed(merchant):
    response = merchant.get("/settings/audit-log?action=payment.refunded&from=yesterday")

    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Choose an action from the list." in html
    assert "The start date must be a date like" in html


def test_a_member_without_the_permission_gets_a_403_and_no_tab(merchant):
    app = merchant.application
    store = app.extensions["store"]
    alice = Person(app.extensions["settings"].oidc_issuer, ALICE_EMAIL)
    assert merchant.get("/settings/audit-log").status_code == 200  # the Owner reads it
    # Her role becomes Viewer in the store, as a team change writes it; her next request reads it.
    store.client.update_item(
        TableName=store.tables.accounts,
        Key={"accountId": {"S": ALICE_EMAIL}, "sk": {"S": "member#" + alice.key}},
        UpdateExpression="SET #role = :viewer",
        ExpressionAttributeNames={"#role": "role"},
        ExpressionAttributeValues={":viewer": {"S": Role.VIEWER.value}},
    )

    assert merchant.get("/settings/audit-log").status_code == 403
    assert merchant.get("/settings/audit-log/export.csv").status_code == 403
    assert merchant.get("/api/v1/audit-events").status_code == 403
    assert "/settings/audit-log" not in merchant.get("/settings").get_data(as_text=True)


def test_the_csv_export_is_every_matching_entry_and_never_a_formula(merchant):
    key = make_changes(merchant)

    response = merchant.get("/settings/audit-log/export.csv")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["action"] for r in rows] == ["api_key.revoked", "api_key.created"]
    assert rows[1]["target_id"] == key.key_id
    assert rows[1]["target_label"] == '\'=HYPERLINK("http://x")'  # shown as text
    assert rows[1]["actor_label"] == ALICE_EMAIL
    assert rows[1]["ip_address"] == "127.0.0.1"
    assert '"name": "=HYPERLINK' in rows[1]["after"]
    only_created = merchant.get("/settings/audit-log/export.csv?action=api_key.created")
    assert only_created.get_data(as_text=True).count("api_key.") == 1


def test_the_api_lists_audit_events_for_a_key_with_the_same_filters(app, merchant):
    make_changes(merchant)
    key = api_key_for(app, ALICE_EMAIL, name="Archiver")

    first = app.test_client().get("/api/v1/audit-events?limit=2", headers=bearer(key))

    assert first.status_code == 200
    body = first.get_json()
    assert [e["action"] for e in body["data"]] == ["api_key.created", "api_key.revoked"]
    assert body["data"][0]["target"]["label"] == "Archiver"
    assert body["data"][1]["actor"]["label"] == ALICE_EMAIL
    assert body["data"][1]["via"] == "browser"
    assert body["data"][1]["before"] == {"status": "active"}
    assert body["next_cursor"]
    rest = app.test_client().get(
        "/api/v1/audit-events",
        query_string={"limit": 2, "cursor": body["next_cursor"]},
        headers=bearer(key),
    )
    assert [e["action"] for e in rest.get_json()["data"]] == ["api_key.created"]
    assert rest.get_json()["next_cursor"] is None
    revoked = app.test_client().get(
        "/api/v1/audit-events?action=api_key.revoked", headers=bearer(key)
    )
    assert [e["action"] for e in revoked.get_json()["data"]] == ["api_key.revoked"]
    bad = app.test_client().get("/api/v1/audit-events?action=nope", headers=bearer(key))
    assert bad.status_code == 400
    assert bad.get_json()["errors"]["action"]


def test_the_api_takes_an_owners_session_too(merchant):
    make_changes(merchant)

    response = merchant.get("/api/v1/audit-events")

    assert response.status_code == 200
    assert len(response.get_json()["data"]) == 2


def test_the_openapi_document_describes_audit_events(client):
    spec = client.get("/api/v1/openapi.json").get_json()

    operation = spec["paths"]["/audit-events"]["get"]
    assert operation["operationId"] == "listAuditEvents"
    assert {p["name"] for p in operation["parameters"]} >= {
        "actor",
        "action",
        "from",
        "to",
        "cursor",
    }
    assert "AuditEvent" in spec["components"]["schemas"]
    assert "403" in operation["responses"]


# Sign-in, sign-out, sign out everywhere ------------------------------------------------------


def test_signing_out_and_out_everywhere_are_recorded(app):
    laptop = sign_in(app.test_client())
    phone = sign_in(app.test_client())
    laptop.post("/logout", data={"csrf_token": csrf_token(laptop)})
    settings_page = phone.get("/settings").get_data(as_text=True)
    phone.post("/settings/sign-out-everywhere", data={"csrf_token": csrf_token_from(settings_page)})

    entries = logged(app.extensions["store"], ALICE_EMAIL)
    assert [e.action for e in entries] == [
        AuditAction.SIGNED_OUT,
        AuditAction.SIGNED_OUT_EVERYWHERE,
    ]
    assert all(e.actor_label == ALICE_EMAIL and e.target_type == "person" for e in entries)


def test_signing_in_is_recorded_with_the_persons_email(httpserver):
    provider = OidcStandIn(httpserver)
    provider.install()
    from dashboard.app import create_app
    from tests.conftest import TEST_SECRET_KEY

    with mock_aws():
        app = create_app(
            {
                "APP_ENV": "test",
                "SECRET_KEY": TEST_SECRET_KEY,
                "DYNAMODB_TABLE_PREFIX": "audit-signin-",
                "OIDC_ISSUER": provider.issuer,
                "OIDC_CLIENT_ID": CLIENT_ID,
                "OIDC_CLIENT_SECRET": "tests-secret",
            }
        )
        app.extensions["store"].ensure_tables()
        client = app.test_client()
        assert provider.sign_in(client).status_code == 302

        entries = client.get("/api/v1/audit-events").get_json()["data"]

    assert [e["action"] for e in entries] == ["session.signed_in"]
    assert entries[0]["via"] == "browser"
    assert entries[0]["ip_address"] == "127.0.0.1"


@pytest.mark.parametrize("day", ["0489-10-15", "1999-12-31", "9999-12-31"])
def test_dates_outside_the_logs_years_are_refused_not_queried(merchant, day):
    """Found by schemathesis: a three-digit year broke the fixed-width key range."""
    for name in ("from", "to"):
        response = merchant.get("/api/v1/audit-events", query_string={name: day})

        assert response.status_code == 400
        assert "between 2000 and 2999" in response.get_json()["errors"][name]
