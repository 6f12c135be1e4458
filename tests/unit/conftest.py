"""Fast fixtures on moto: a Store, the sandbox provider, the payment service, and a Flask app."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from moto import mock_aws

from dashboard.app import create_app
from dashboard.domain.actor import Person
from dashboard.providers.sandbox import SandboxProvider
from dashboard.services.payments import PaymentService
from dashboard.services.sessions import SESSION_ID_KEY
from dashboard.store.database import Store
from dashboard.store.dynamo import TableNames, make_client
from tests.conftest import TEST_SECRET_KEY, FakeClock, csrf_token_from
from tests.truelayer_standin import SigningKey, TrueLayerStandIn


@pytest.fixture
def store() -> Iterator[Store]:
    """A Store over moto's DynamoDB, with every table created."""
    with mock_aws():
        store = Store(make_client("eu-west-2", None), TableNames.with_prefix("unit-"))
        store.ensure_tables()
        yield store


@pytest.fixture
def sandbox(store: Store, clock: FakeClock) -> SandboxProvider:
    """The sandbox provider, its hosted page at a fixed test address."""
    return SandboxProvider(
        store.sandbox_links,
        secret=b"sandbox-test-secret",
        hosted_page_url=lambda link_id: f"http://testserver/sandbox/links/{link_id}",
        clock=clock,
    )


@pytest.fixture
def service(store: Store, sandbox: SandboxProvider, clock: FakeClock) -> PaymentService:
    """The payment service over moto and the sandbox, on the test clock."""
    return PaymentService(
        store.payments,
        sandbox,
        return_uri_for=lambda token: f"http://testserver/pay/{token}",
        clock=clock,
    )


@pytest.fixture
def app() -> Iterator[Flask]:
    """The whole app on moto, configured for tests."""
    with mock_aws():
        app = create_app(
            {"APP_ENV": "test", "SECRET_KEY": TEST_SECRET_KEY, "DYNAMODB_TABLE_PREFIX": "app-"}
        )
        app.extensions["store"].ensure_tables()
        yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A browser that is not signed in."""
    return app.test_client()


def sign_in(client: FlaskClient, sub: str = "alice@example.com") -> FlaskClient:
    """Make ``client`` a signed-in merchant, as the OIDC callback leaves it: a stored session,
    signed in at the provider just now (a step-up needs no new sign-in yet).

    The person's account id is their ``sub``: an account as ``migrate-accounts`` leaves one
    made before accounts and people were told apart, so tests name the account by the person.
    """
    app = client.application
    person = Person(app.extensions["settings"].oidc_issuer, sub)
    app.extensions["accounts"].migrate(person.issuer, [sub])
    sessions = app.extensions["sessions"]
    session_id = sessions.start(person, sub, email=sub, auth_time=sessions.clock())
    with client.session_transaction() as session:
        session.permanent = True
        session[SESSION_ID_KEY] = session_id
    return client


@pytest.fixture
def merchant(client: FlaskClient) -> FlaskClient:
    """A browser signed in as alice@example.com."""
    return sign_in(client)


def csrf_token(client: FlaskClient) -> str:
    """Return a valid CSRF token for the client's session."""
    return csrf_token_from(client.get("/payments/new").get_data(as_text=True))


@pytest.fixture(scope="module")
def keys() -> tuple[SigningKey, SigningKey]:
    """The merchant's request-signing key and TrueLayer's webhook key, for the stand-in."""
    return SigningKey.generate("merchant-kid"), SigningKey.generate("truelayer-webhook-kid")


@pytest.fixture
def standin(httpserver, keys) -> TrueLayerStandIn:
    """The local TrueLayer stand-in, its handlers installed on a fresh HTTP server."""
    fake = TrueLayerStandIn(httpserver, client_key=keys[0], webhook_key=keys[1])
    fake.install()
    return fake
