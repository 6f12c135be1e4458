"""A request reads its session and the person's membership together, and never trusts either stale.

Once the app has resolved a session, it knows whose it is and in which account: the next request
reads the session item and that membership item in one BatchGetItem. These tests check that what
the app remembers only ever picks the keys: a switch or removal made elsewhere (another process,
another worker) is honoured at the very next request.
"""

from __future__ import annotations

import threading

from botocore.exceptions import EndpointConnectionError
from flask import Flask
from flask.testing import FlaskClient

from dashboard.domain.accounts import Membership
from dashboard.domain.actor import Person, Role
from dashboard.services.sessions import SESSION_ID_KEY, session_hash
from tests.unit.conftest import sign_in

OWNER = "owner@example.com"
VERA = "vera@example.com"


def _person(app: Flask, sub: str) -> Person:
    return Person(app.extensions["settings"].oidc_issuer, sub)


def _join_shop(app: Flask, sub: str, role: Role) -> Person:
    """Make ``sub`` a member of the owner's account ("Shop") with ``role``."""
    sign_in(app.test_client(), OWNER)  # makes the owner's account
    person = _person(app, sub)
    app.extensions["store"].accounts.add_member(Membership(OWNER, "Shop", person, role, email=sub))
    return person


def _browser_of(app: Flask, person: Person, account_id: str) -> tuple[FlaskClient, str]:
    """Return a browser whose session works in ``account_id``, and the session's stored hash."""
    client = app.test_client()
    sessions = app.extensions["sessions"]
    session_id = sessions.start(person, account_id, email=person.sub, auth_time=sessions.clock())
    with client.session_transaction() as session:
        session.permanent = True
        session[SESSION_ID_KEY] = session_id
    return client, session_hash(session_id)


def _remove_from_shop(app: Flask, person: Person) -> None:
    """Delete the person's member item of the owner's account, as another process would."""
    store = app.extensions["store"]
    store.client.delete_item(
        TableName=store.tables.accounts,
        Key={"accountId": {"S": OWNER}, "sk": {"S": "member#" + person.key}},
    )


def _requests(app: Flask) -> list[str]:
    """Record the reads by key (GetItem, BatchGetItem) sent from now on, with their tables.

    Queries are left out: the full page's header lists the person's accounts with one.
    """
    calls: list[str] = []
    tables = app.extensions["store"].tables

    def record(model, params, **_kwargs):
        if model.name not in ("GetItem", "BatchGetItem"):
            return
        names = [params["TableName"]] if "TableName" in params else sorted(params["RequestItems"])
        short = ",".join(
            "Sessions" if n == tables.sessions else "Accounts" if n == tables.accounts else "other"
            for n in names
        )
        calls.append(f"{model.name}({short})")

    app.extensions["store"].client.meta.events.register("before-parameter-build.dynamodb", record)
    return calls


def test_after_its_first_request_a_session_and_its_membership_are_one_read(app):
    vera = _join_shop(app, VERA, Role.ADMIN)
    browser, _ = _browser_of(app, vera, OWNER)
    calls = _requests(app)

    assert browser.get("/settings").status_code == 200
    first = [c for c in calls if "other" not in c]
    calls.clear()
    assert browser.get("/settings").status_code == 200
    second = [c for c in calls if "other" not in c]

    assert first == ["GetItem(Sessions)", "GetItem(Accounts)"]
    assert second == ["BatchGetItem(Accounts,Sessions)"]


def test_a_role_changed_elsewhere_applies_at_the_next_request(app):
    vera = _join_shop(app, VERA, Role.ADMIN)
    browser, _ = _browser_of(app, vera, OWNER)
    assert browser.get("/payments/new").status_code == 200

    accounts = app.extensions["store"].accounts
    _remove_from_shop(app, vera)
    accounts.add_member(Membership(OWNER, "Shop", vera, Role.VIEWER, email=VERA))

    assert browser.get("/payments/new").status_code == 403


def test_a_member_removed_elsewhere_is_refused_at_the_next_request(app):
    vera = _join_shop(app, VERA, Role.ADMIN)  # Shop is her only account
    browser, stored_hash = _browser_of(app, vera, OWNER)
    assert browser.get("/payments").status_code == 200

    _remove_from_shop(app, vera)

    assert browser.get("/payments").status_code == 302  # to sign-in
    assert app.extensions["store"].sessions.get(stored_hash) is None  # the session ended


def test_a_session_switched_elsewhere_reads_the_membership_of_its_new_account(app):
    # Vera owns her own account and is a Viewer in Shop. This process last saw her session in
    # her own account; another process then switched it to Shop.
    vera = _join_shop(app, VERA, Role.VIEWER)
    app.extensions["accounts"].migrate(vera.issuer, [VERA])
    browser, stored_hash = _browser_of(app, vera, VERA)
    assert browser.get("/payments/new").status_code == 200  # Owner of her own account
    app.extensions["store"].sessions.set_account(stored_hash, OWNER)  # not through this process
    calls = _requests(app)

    new_payment = browser.get("/payments/new")

    # The Owner membership read alongside the session is not hers there: she is a Viewer.
    assert new_payment.status_code == 403
    assert [c for c in calls if "other" not in c][:2] == [
        "BatchGetItem(Accounts,Sessions)",
        "GetItem(Accounts)",
    ]
    calls.clear()
    assert browser.get("/payments").status_code == 200
    assert [c for c in calls if "other" not in c] == ["BatchGetItem(Accounts,Sessions)"]


def test_a_session_switched_elsewhere_to_an_account_she_was_removed_from_is_not_let_in(app):
    vera = _join_shop(app, VERA, Role.ADMIN)
    app.extensions["accounts"].migrate(vera.issuer, [VERA])
    browser, stored_hash = _browser_of(app, vera, OWNER)
    assert browser.get("/payments").status_code == 200  # remembered: Vera in Shop
    _remove_from_shop(app, vera)
    app.extensions["store"].sessions.set_account(stored_hash, OWNER)

    assert browser.get("/payments/new").status_code == 200  # moved to her own account, Owner
    assert app.extensions["store"].sessions.get(stored_hash).account_id == VERA


def test_a_cookie_replayed_after_sign_out_elsewhere_is_refused(app):
    vera = _join_shop(app, VERA, Role.ADMIN)
    browser, stored_hash = _browser_of(app, vera, OWNER)
    assert browser.get("/payments").status_code == 200

    app.extensions["store"].sessions.delete(stored_hash)  # "Sign out everywhere", elsewhere

    assert browser.get("/payments").status_code == 302


def test_dynamodb_down_while_reading_session_and_membership_together_is_the_usual_503(
    app, monkeypatch
):
    merchant = sign_in(app.test_client())
    assert merchant.get("/payments").status_code == 200  # remembered: the next is one read

    def unreachable(**_kwargs):
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:8000")

    monkeypatch.setattr(app.extensions["store"].client, "batch_get_item", unreachable)

    page = merchant.get("/payments")
    assert page.status_code == 503
    assert "payment store" in page.get_data(as_text=True)


def test_the_full_list_page_reads_the_headers_accounts_beside_its_own_reads(app):
    vera = _join_shop(app, VERA, Role.ADMIN)
    app.extensions["accounts"].migrate(vera.issuer, [VERA])
    browser, _ = _browser_of(app, vera, OWNER)
    threads: dict[str, str] = {}

    def record(model, params, **_kwargs):
        if model.name == "Query" and params.get("IndexName") == "PersonAccountsIndex":
            threads["header"] = threading.current_thread().name

    app.extensions["store"].client.meta.events.register("before-parameter-build.dynamodb", record)

    page = browser.get("/payments").get_data(as_text=True)

    assert "Switch to" in page  # she has two accounts: the header offers the other
    assert threads["header"].startswith("side-read")
