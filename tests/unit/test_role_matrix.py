"""Who may call each route, written out by hand: route × role (and × key scope for the API).

The matrix below is the issue's role table as a merchant reads it, route by route; it is not
derived from ``ROLE_PERMISSIONS``, so a slip in that table (or a route declaring the wrong
permission) shows up as a mismatch here. A route the app has and the matrix lacks fails the
test: a new route needs a line here, on purpose.

Each cell is one request, as a member signed in with that role (or with an API key of that
scope): allowed means the route answered (whatever it said: 200, a redirect, a 404 for an id,
a 422 for an empty form), refused means a 403 that names who may, with nothing written.
One app serves the whole module (moto), with one account and a member of each role.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, session, url_for
from flask.testing import FlaskClient
from flask_wtf.csrf import generate_csrf
from moto import mock_aws

from dashboard.app import create_app
from dashboard.domain.accounts import Membership
from dashboard.domain.actor import Person, Role
from dashboard.domain.api_keys import KeyScope
from dashboard.services.sessions import SESSION_ID_KEY
from dashboard.web.permissions import Access, requirement_of
from tests.conftest import TEST_SECRET_KEY, actor_for
from tests.unit.api_support import NEW_PAYMENT, bearer

OWNER, ADMIN, DEVELOPER, OPERATOR, VIEWER = (
    Role.OWNER,
    Role.ADMIN,
    Role.DEVELOPER,
    Role.PAYMENTS_OPERATOR,
    Role.VIEWER,
)
FULL, READ_ONLY = KeyScope.FULL, KeyScope.READ_ONLY
PUBLIC = "public"

# (endpoint, method) -> the roles allowed, or PUBLIC (anyone; not a member's permission).
ROLE_MATRIX: dict[tuple[str, str], frozenset[Role] | str] = {
    # Public: pages and hooks for visitors, payers, providers and load balancers.
    ("main.landing", "GET"): PUBLIC,
    ("main.health", "GET"): PUBLIC,
    ("main.choose_theme", "POST"): PUBLIC,
    ("auth.login", "GET"): PUBLIC,
    ("auth.callback", "GET"): PUBLIC,
    ("auth.confirm_sign_in", "GET"): PUBLIC,
    ("auth.logout", "POST"): PUBLIC,
    ("static", "GET"): PUBLIC,
    ("payer.payment_result", "GET"): PUBLIC,
    ("webhooks.truelayer_webhook", "POST"): PUBLIC,
    ("sandbox.jwks", "GET"): PUBLIC,
    ("sandbox.hosted_page", "GET"): PUBLIC,
    ("sandbox.pay", "POST"): PUBLIC,
    ("sandbox.decline", "POST"): PUBLIC,
    ("sandbox.payment_controls", "GET"): PUBLIC,
    ("sandbox.settle_payment", "POST"): PUBLIC,
    ("sandbox.execute_refund", "POST"): PUBLIC,
    ("sandbox.fail_refund", "POST"): PUBLIC,
    ("sandbox.return_refund", "POST"): PUBLIC,
    ("mailbox.mailbox_page", "GET"): PUBLIC,
    ("mailbox.email_page", "GET"): PUBLIC,
    ("mailbox.email_html", "GET"): PUBLIC,
    ("api.health", "GET"): PUBLIC,
    ("team.show_invitation", "GET"): PUBLIC,
    ("business.logo", "GET"): PUBLIC,
    ("api.openapi_document", "GET"): PUBLIC,
    ("api.docs", "GET"): PUBLIC,
    # Payments: everyone reads; Owner, Admin and Payments operator create and act on links.
    ("payments.list_payments", "GET"): frozenset({OWNER, ADMIN, DEVELOPER, OPERATOR, VIEWER}),
    ("payments.export_payments", "GET"): frozenset({OWNER, ADMIN, DEVELOPER, OPERATOR, VIEWER}),
    ("payments.show_payment", "GET"): frozenset({OWNER, ADMIN, DEVELOPER, OPERATOR, VIEWER}),
    ("payments.new_payment", "GET"): frozenset({OWNER, ADMIN, OPERATOR}),
    ("payments.create_payment", "POST"): frozenset({OWNER, ADMIN, OPERATOR}),
    ("payments.confirm_cancel_payment", "GET"): frozenset({OWNER, ADMIN, OPERATOR}),
    ("payments.cancel_payment", "POST"): frozenset({OWNER, ADMIN, OPERATOR}),
    ("payments.retry_payment", "POST"): frozenset({OWNER, ADMIN, OPERATOR}),
    ("payments.refresh_payment", "POST"): frozenset({OWNER, ADMIN, OPERATOR}),
    ("payments.email_payment_link", "POST"): frozenset({OWNER, ADMIN, OPERATOR}),
    # Refunds: money going back, so the roles that take payments, after a step-up.
    ("refunds.new_refund", "GET"): frozenset({OWNER, ADMIN, OPERATOR}),
    ("refunds.create_refund", "POST"): frozenset({OWNER, ADMIN, OPERATOR}),
    ("refunds.retry_refund", "POST"): frozenset({OWNER, ADMIN, OPERATOR}),
    # Orders: the same.
    ("orders.list_orders", "GET"): frozenset({OWNER, ADMIN, DEVELOPER, OPERATOR, VIEWER}),
    ("orders.export_orders", "GET"): frozenset({OWNER, ADMIN, DEVELOPER, OPERATOR, VIEWER}),
    ("orders.show_order", "GET"): frozenset({OWNER, ADMIN, DEVELOPER, OPERATOR, VIEWER}),
    ("orders.new_order", "GET"): frozenset({OWNER, ADMIN, OPERATOR}),
    ("orders.create_order", "POST"): frozenset({OWNER, ADMIN, OPERATOR}),
    ("orders.edit_order", "GET"): frozenset({OWNER, ADMIN, OPERATOR}),
    ("orders.edit_order", "POST"): frozenset({OWNER, ADMIN, OPERATOR}),
    ("orders.request_payment", "POST"): frozenset({OWNER, ADMIN, OPERATOR}),
    ("orders.confirm_cancel_order", "GET"): frozenset({OWNER, ADMIN, OPERATOR}),
    ("orders.cancel_order", "POST"): frozenset({OWNER, ADMIN, OPERATOR}),
    ("orders.confirm_delete_order", "GET"): frozenset({OWNER, ADMIN, OPERATOR}),
    ("orders.delete_order", "POST"): frozenset({OWNER, ADMIN, OPERATOR}),
    ("stats.statistics_page", "GET"): frozenset({OWNER, ADMIN, DEVELOPER, OPERATOR, VIEWER}),
    # Settings: everyone sees the keys; Owner, Admin and Developer create and revoke them.
    ("settings.settings_page", "GET"): frozenset({OWNER, ADMIN, DEVELOPER, OPERATOR, VIEWER}),
    ("settings.create_api_key", "POST"): frozenset({OWNER, ADMIN, DEVELOPER}),
    ("settings.confirm_revoke_api_key", "GET"): frozenset({OWNER, ADMIN, DEVELOPER}),
    ("settings.revoke_api_key", "POST"): frozenset({OWNER, ADMIN, DEVELOPER}),
    # A person's own sessions and account choice: every member, whatever their role.
    ("settings.confirm_sign_out_everywhere", "GET"): frozenset(
        {OWNER, ADMIN, DEVELOPER, OPERATOR, VIEWER}
    ),
    ("settings.sign_out_everywhere", "POST"): frozenset(
        {OWNER, ADMIN, DEVELOPER, OPERATOR, VIEWER}
    ),
    ("accounts.switch_account", "POST"): frozenset({OWNER, ADMIN, DEVELOPER, OPERATOR, VIEWER}),
    ("team.confirm_leave_account", "GET"): frozenset({OWNER, ADMIN, DEVELOPER, OPERATOR, VIEWER}),
    ("team.leave_account", "POST"): frozenset({OWNER, ADMIN, DEVELOPER, OPERATOR, VIEWER}),
    # Accepting an invitation: any signed-in person (their role comes from the invitation).
    ("team.accept_invitation", "POST"): frozenset({OWNER, ADMIN, DEVELOPER, OPERATOR, VIEWER}),
    # Team: everyone sees the members; Owner and Admin invite, change roles and remove; only
    # an Owner transfers ownership.
    ("team.team_page", "GET"): frozenset({OWNER, ADMIN, DEVELOPER, OPERATOR, VIEWER}),
    ("team.notifications_page", "GET"): frozenset({OWNER, ADMIN, DEVELOPER, OPERATOR, VIEWER}),
    ("team.save_notifications", "POST"): frozenset({OWNER, ADMIN, DEVELOPER, OPERATOR, VIEWER}),
    ("team.invite_member", "POST"): frozenset({OWNER, ADMIN}),
    ("team.confirm_revoke_invitation", "GET"): frozenset({OWNER, ADMIN}),
    ("team.revoke_invitation", "POST"): frozenset({OWNER, ADMIN}),
    ("team.change_role", "POST"): frozenset({OWNER, ADMIN}),
    ("team.confirm_remove_member", "GET"): frozenset({OWNER, ADMIN}),
    ("team.remove_member", "POST"): frozenset({OWNER, ADMIN}),
    ("team.confirm_transfer_ownership", "GET"): frozenset({OWNER}),
    ("team.transfer_ownership", "POST"): frozenset({OWNER}),
    # The JSON API from a signed-in page follows the member's role, as the pages do.
    ("api.list_payments", "GET"): frozenset({OWNER, ADMIN, DEVELOPER, OPERATOR, VIEWER}),
    ("api.get_payment", "GET"): frozenset({OWNER, ADMIN, DEVELOPER, OPERATOR, VIEWER}),
    ("api.create_payment", "POST"): frozenset({OWNER, ADMIN, OPERATOR}),
    ("api.cancel_payment", "POST"): frozenset({OWNER, ADMIN, OPERATOR}),
    # Refunds: everyone reads them; Owner, Admin and Payments operator give money back.
    ("api.list_refunds", "GET"): frozenset({OWNER, ADMIN, DEVELOPER, OPERATOR, VIEWER}),
    ("api.get_refund", "GET"): frozenset({OWNER, ADMIN, DEVELOPER, OPERATOR, VIEWER}),
    ("api.create_refund", "POST"): frozenset({OWNER, ADMIN, OPERATOR}),
    ("api.retry_refund", "POST"): frozenset({OWNER, ADMIN, OPERATOR}),
    ("api.list_orders", "GET"): frozenset({OWNER, ADMIN, DEVELOPER, OPERATOR, VIEWER}),
    ("api.get_order", "GET"): frozenset({OWNER, ADMIN, DEVELOPER, OPERATOR, VIEWER}),
    ("api.create_order", "POST"): frozenset({OWNER, ADMIN, OPERATOR}),
    ("api.update_order", "PATCH"): frozenset({OWNER, ADMIN, OPERATOR}),
    ("api.delete_order", "DELETE"): frozenset({OWNER, ADMIN, OPERATOR}),
    ("api.cancel_order", "POST"): frozenset({OWNER, ADMIN, OPERATOR}),
    ("api.request_order_payment", "POST"): frozenset({OWNER, ADMIN, OPERATOR}),
    ("api.get_stats", "GET"): frozenset({OWNER, ADMIN, DEVELOPER, OPERATOR, VIEWER}),
    ("api.list_events", "GET"): frozenset({OWNER, ADMIN, DEVELOPER, OPERATOR, VIEWER}),
    # Webhook endpoints: everyone lists them; Owner, Admin and Developer manage them.
    ("api.list_webhook_endpoints", "GET"): frozenset({OWNER, ADMIN, DEVELOPER, OPERATOR, VIEWER}),
    ("api.create_webhook_endpoint", "POST"): frozenset({OWNER, ADMIN, DEVELOPER}),
    ("api.delete_webhook_endpoint", "DELETE"): frozenset({OWNER, ADMIN, DEVELOPER}),
    ("api.rotate_webhook_endpoint_secret", "POST"): frozenset({OWNER, ADMIN, DEVELOPER}),
    # Settings → Webhooks: Owners, Admins and Developers only.
    ("webhook_settings.webhooks_page", "GET"): frozenset({OWNER, ADMIN, DEVELOPER}),
    ("webhook_settings.add_endpoint", "POST"): frozenset({OWNER, ADMIN, DEVELOPER}),
    ("webhook_settings.endpoint_page", "GET"): frozenset({OWNER, ADMIN, DEVELOPER}),
    ("webhook_settings.confirm_rotate_secret", "GET"): frozenset({OWNER, ADMIN, DEVELOPER}),
    ("webhook_settings.confirm_delete_endpoint", "GET"): frozenset({OWNER, ADMIN, DEVELOPER}),
    ("webhook_settings.rotate_secret", "POST"): frozenset({OWNER, ADMIN, DEVELOPER}),
    ("webhook_settings.disable_endpoint", "POST"): frozenset({OWNER, ADMIN, DEVELOPER}),
    ("webhook_settings.enable_endpoint", "POST"): frozenset({OWNER, ADMIN, DEVELOPER}),
    ("webhook_settings.delete_endpoint", "POST"): frozenset({OWNER, ADMIN, DEVELOPER}),
    ("webhook_settings.send_test_event", "POST"): frozenset({OWNER, ADMIN, DEVELOPER}),
    ("webhook_settings.resend_delivery", "POST"): frozenset({OWNER, ADMIN, DEVELOPER}),
    ("api.disable_webhook_endpoint", "POST"): frozenset({OWNER, ADMIN, DEVELOPER}),
    ("api.enable_webhook_endpoint", "POST"): frozenset({OWNER, ADMIN, DEVELOPER}),
    # The audit log: Owners and Admins (and full-scope keys).
    ("business.business_page", "GET"): frozenset({OWNER, ADMIN, DEVELOPER, OPERATOR, VIEWER}),
    ("business.save_business", "POST"): frozenset({OWNER, ADMIN}),
    ("business.save_time_zone", "POST"): frozenset({OWNER, ADMIN}),
    ("audit.audit_log_page", "GET"): frozenset({OWNER, ADMIN}),
    ("audit.export_audit_log", "GET"): frozenset({OWNER, ADMIN}),
    ("api.list_audit_events", "GET"): frozenset({OWNER, ADMIN}),
}

# The API's private routes by key scope: a full key takes payments, a read-only key reads.
SCOPE_MATRIX: dict[tuple[str, str], frozenset[KeyScope]] = {
    ("api.list_payments", "GET"): frozenset({FULL, READ_ONLY}),
    ("api.get_payment", "GET"): frozenset({FULL, READ_ONLY}),
    ("api.create_payment", "POST"): frozenset({FULL}),
    ("api.cancel_payment", "POST"): frozenset({FULL}),
    ("api.list_refunds", "GET"): frozenset({FULL, READ_ONLY}),
    ("api.get_refund", "GET"): frozenset({FULL, READ_ONLY}),
    ("api.create_refund", "POST"): frozenset({FULL}),
    ("api.retry_refund", "POST"): frozenset({FULL}),
    ("api.list_orders", "GET"): frozenset({FULL, READ_ONLY}),
    ("api.get_order", "GET"): frozenset({FULL, READ_ONLY}),
    ("api.create_order", "POST"): frozenset({FULL}),
    ("api.update_order", "PATCH"): frozenset({FULL}),
    ("api.delete_order", "DELETE"): frozenset({FULL}),
    ("api.cancel_order", "POST"): frozenset({FULL}),
    ("api.request_order_payment", "POST"): frozenset({FULL}),
    ("api.get_stats", "GET"): frozenset({FULL, READ_ONLY}),
    ("api.list_events", "GET"): frozenset({FULL, READ_ONLY}),
    # Systems manage the endpoints they receive events at; a read-only key only lists them.
    ("api.list_webhook_endpoints", "GET"): frozenset({FULL, READ_ONLY}),
    ("api.create_webhook_endpoint", "POST"): frozenset({FULL}),
    ("api.delete_webhook_endpoint", "DELETE"): frozenset({FULL}),
    ("api.rotate_webhook_endpoint_secret", "POST"): frozenset({FULL}),
    ("api.disable_webhook_endpoint", "POST"): frozenset({FULL}),
    ("api.enable_webhook_endpoint", "POST"): frozenset({FULL}),
    ("api.list_audit_events", "GET"): frozenset({FULL}),
}

MEMBER_ROUTES = sorted(route for route, allowed in ROLE_MATRIX.items() if allowed != PUBLIC)
OWNER_SUB = "owner@example.com"
ACCOUNT = OWNER_SUB  # sign-in as tests make it: a legacy account named by its first person
NEW_ORDER = {
    "customer_name": "Ada Lovelace",
    "customer_email": "ada@example.com",
    "product_name": "Analytical engine manual",
    "quantity": 3,
    "unit_price": "12.50",
    "currency": "GBP",
}


class Merchant:
    """The module's one account, its members, keys and the things routes act on."""

    def __init__(self, app: Flask):
        self.app = app
        self.issuer = app.extensions["settings"].oidc_issuer
        app.extensions["accounts"].migrate(self.issuer, [OWNER_SUB])
        for role in Role:
            if role is not OWNER:
                app.extensions["store"].accounts.add_member(
                    Membership(ACCOUNT, "Shop", self.person(role), role, email=self.sub(role))
                )
        api_keys = app.extensions["api_keys"]
        owner = actor_for(ACCOUNT)
        self.keys = {
            scope: api_keys.create_key(owner, f"{scope} key", scope=scope)[1] for scope in KeyScope
        }
        self.doomed_key_id = api_keys.create_key(owner, "To revoke")[0].key_id
        client = app.test_client()
        full = bearer(self.keys[FULL])
        self.payment_id = client.post("/api/v1/payments", json=NEW_PAYMENT, headers=full).json["id"]
        self.order_id = client.post("/api/v1/orders", json=NEW_ORDER, headers=full).json["id"]

    @staticmethod
    def sub(role: Role) -> str:
        """Return the subject (and email) of the account's member with ``role``."""
        return OWNER_SUB if role is OWNER else f"{role.value}@example.com"

    def person(self, role: Role) -> Person:
        """Return the account's member with ``role``."""
        return Person(self.issuer, self.sub(role))

    def browser(self, role: Role) -> tuple[FlaskClient, str]:
        """Return a fresh browser signed in as the member with ``role``, and its CSRF token.

        A fresh session each time: some routes end it (sign out everywhere).
        """
        client = self.app.test_client()
        sessions = self.app.extensions["sessions"]
        # Signed in just now, as a callback leaves it: sensitive actions need no step-up here
        # (tests/unit/test_step_up.py covers the stale sign-in).
        session_id = sessions.start(
            self.person(role), ACCOUNT, email=self.sub(role), auth_time=sessions.clock()
        )
        with self.app.test_request_context():
            token = generate_csrf()
            raw = session["csrf_token"]
        with client.session_transaction() as client_session:
            client_session.permanent = True
            client_session[SESSION_ID_KEY] = session_id
            client_session["csrf_token"] = raw
        return client, token

    def restore_members(self) -> None:
        """Put back any member a route removed (Leave account), so each cell starts alike."""
        for role in Role:
            if role is not OWNER:
                self.app.extensions["store"].accounts.add_member(
                    Membership(ACCOUNT, "Shop", self.person(role), role, email=self.sub(role))
                )

    def url(self, endpoint: str) -> str:
        """Return a URL of the route, naming this account's payment, order or key."""
        values = {
            "payment_id": self.payment_id,
            "order_id": self.order_id,
            "key_id": self.doomed_key_id,
            "token": "not-an-invitation",
            "invitation_id": "01a2b3c4-0000-7000-8000-000000000000",
            "refund_id": "01a2b3c4-0000-7000-8000-00000000000f",
            "endpoint_id": "01a2b3c4-0000-7000-8000-0000000000e0",
            "event_id": "01a2b3c4-0000-7000-8000-0000000000e1",
            "digest": "0" * 64,
            "ext": "png",
        }
        with self.app.test_request_context():
            rule = self.app.url_map._rules_by_endpoint[endpoint][0]
            return url_for(endpoint, **{name: values[name] for name in rule.arguments})

    def stored_items(self) -> dict[str, list[str]]:
        """Return every item of every table, to show that a refused request wrote nothing.

        But for when a key was last used: presenting a key notes that, allowed or not.
        """
        client = self.app.extensions["store"].client
        return {
            table: sorted(
                repr({k: v for k, v in item.items() if k != "lastUsedAt"})
                for item in client.scan(TableName=table)["Items"]
            )
            for table in client.list_tables()["TableNames"]
        }


@pytest.fixture(scope="module")
def merchant() -> Iterator[Merchant]:
    """One app on moto for the module, with an account that has a member of each role."""
    with mock_aws():
        app = create_app(
            {"APP_ENV": "test", "SECRET_KEY": TEST_SECRET_KEY, "DYNAMODB_TABLE_PREFIX": "roles-"}
        )
        app.extensions["store"].ensure_tables()
        yield Merchant(app)


def _request(
    merchant: Merchant, client: FlaskClient, endpoint: str, method: str, **headers: str
) -> Any:
    """Send the route the least a caller sends: the form's hidden fields, or an empty body."""
    url = merchant.url(endpoint)
    if endpoint.startswith("api."):
        body = {"json": {}} if method in ("POST", "PATCH") else {}
        return client.open(url, method=method, headers=headers, **body)
    data = {"csrf_token": headers.pop("X-CSRFToken", ""), "account": ACCOUNT}
    return client.open(url, method=method, data=data if method != "GET" else None)


def test_every_route_of_the_app_is_in_the_matrix(merchant):
    routes = {
        (rule.endpoint, method)
        for rule in merchant.app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }

    assert sorted(routes - ROLE_MATRIX.keys()) == [], "routes missing from the matrix"
    assert sorted(ROLE_MATRIX.keys() - routes) == [], "the matrix names routes the app lacks"
    api_routes = {r for r in MEMBER_ROUTES if r[0].startswith("api.")}
    assert api_routes == SCOPE_MATRIX.keys()


@pytest.mark.parametrize("route", sorted(ROLE_MATRIX), ids="-".join)
def test_public_routes_are_declared_public_and_no_other(merchant, route):
    declared = requirement_of(merchant.app, route[0])

    assert (declared is Access.PUBLIC) == (ROLE_MATRIX[route] == PUBLIC)


@pytest.mark.parametrize("role", list(Role), ids=str)
@pytest.mark.parametrize("route", MEMBER_ROUTES, ids="-".join)
def test_each_role_may_call_only_what_the_matrix_allows(merchant, route, role):
    endpoint, method = route
    client, token = merchant.browser(role)
    allowed = role in ROLE_MATRIX[route]
    before = None if allowed else merchant.stored_items()

    response = _request(merchant, client, endpoint, method, **{"X-CSRFToken": token})
    merchant.restore_members()

    if allowed:
        # The route answered as the signed-in member: not refused, not sent to sign in.
        assert response.status_code not in (401, 403), response.get_data(as_text=True)[:500]
        assert not response.headers.get("Location", "").startswith("/login")
        assert response.status_code < 500
        return
    assert response.status_code == 403
    if endpoint.startswith("api."):
        assert response.mimetype == "application/problem+json"
        assert response.json["type"].endswith("#problem-forbidden")
    assert f"your role here is {role.label}" in response.get_data(as_text=True)
    assert merchant.stored_items() == before, "a refused request wrote something"


@pytest.mark.parametrize("scope", list(KeyScope), ids=str)
@pytest.mark.parametrize("route", sorted(SCOPE_MATRIX), ids="-".join)
def test_each_key_scope_may_call_only_what_the_matrix_allows(merchant, route, scope):
    endpoint, method = route
    client = merchant.app.test_client()
    allowed = scope in SCOPE_MATRIX[route]
    before = None if allowed else merchant.stored_items()

    response = _request(merchant, client, endpoint, method, **bearer(merchant.keys[scope]))

    if allowed:
        assert response.status_code not in (401, 403), response.json
        assert response.status_code < 500
        return
    assert response.status_code == 403
    assert response.json["type"].endswith("#problem-forbidden")
    assert "read-only" in response.json["detail"]
    assert merchant.stored_items() == before, "a refused request wrote something"
