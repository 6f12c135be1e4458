"""Fixtures shared by every kind of test.

Unit tests run on moto; integration and browser tests on one real DynamoDB Local and one real
OIDC provider per test session (started here, stopped at the end), and the rate-limit tests on
one real redis-server.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from flask import Flask
from hypothesis import settings as hypothesis_settings

from dashboard.core.ids import id_minted_at
from dashboard.domain.actor import Actor, Person
from dashboard.domain.orders import Order, OrderFields
from dashboard.local.mail_server import MailServer, start_mail_server
from dashboard.local.services import (
    LocalService,
    free_port,
    start_dynamodb_local,
    start_oidc_provider,
    start_redis,
)
from dashboard.providers.sandbox import SandboxProvider
from dashboard.services.orders import OrderService
from dashboard.services.payments import PaymentService
from dashboard.store.cursors import CursorCodec
from dashboard.store.database import Store
from dashboard.store.dynamo import TableNames, make_client
from tests.live import LiveApp

# Bounded property tests: CI and `make test` stay fast; HYPOTHESIS_PROFILE=thorough digs deeper.
hypothesis_settings.register_profile("default", max_examples=100, deadline=None)
hypothesis_settings.register_profile("thorough", max_examples=2000, deadline=None)
hypothesis_settings.load_profile("default")

TEST_SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


TEST_ISSUER = "http://issuer"


def actor_for(account_id: str) -> Actor:
    """Return the person signed in to ``account_id`` in a browser, as routes hand to services."""
    return Actor.for_person(account_id, Person(TEST_ISSUER, account_id))


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime | None = None):
        self.now = now or datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move time forward."""
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    """A hand-driven clock for services under test."""
    return FakeClock()


@pytest.fixture(autouse=True)
def _aws_test_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    # Never reach a real AWS account from a test, whatever the developer's shell holds.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-2")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)


# What the stub resolver answers: a public address for every name but these.
PUBLIC_TEST_ADDRESS = "93.184.215.14"
PRIVATE_TEST_HOST = "internal.shop.example"  # resolves into a private network


def stub_resolve(host: str, port: int, **kwargs: object) -> list[tuple[object, ...]]:
    """Answer a lookup without DNS: IP literals as given, localhost as 127.0.0.1, the private
    test host as 10.0.0.7, every other name as one public address."""
    try:
        address = str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        address = {"localhost": "127.0.0.1", PRIVATE_TEST_HOST: "10.0.0.7"}.get(
            host, PUBLIC_TEST_ADDRESS
        )
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return [(family, socket.SOCK_STREAM, 6, "", (address, port))]


@pytest.fixture(autouse=True)
def _no_real_name_lookups(monkeypatch: pytest.MonkeyPatch) -> None:
    # Adding a webhook endpoint resolves its host: never through real DNS in a test.
    monkeypatch.setattr("dashboard.services.webhook_endpoints.resolve_host", stub_resolve)


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where logs and screenshots of a test run go."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def dynamodb_local(artifacts_dir: Path) -> Iterator[LocalService]:
    """One real DynamoDB Local, in memory, on a free port, for the whole test session."""
    service = start_dynamodb_local(free_port(), None, log_path=artifacts_dir / "dynamodb.log")
    yield service
    service.stop()


@pytest.fixture(scope="session")
def oidc_provider(artifacts_dir: Path) -> Iterator[LocalService]:
    """One real OpenID Connect provider (oidc-provider-mock) for the whole test session."""
    service = start_oidc_provider(free_port(), log_path=artifacts_dir / "oidc.log")
    yield service
    service.stop()


@pytest.fixture(scope="session")
def redis_server(artifacts_dir: Path) -> Iterator[LocalService]:
    """One real redis-server (Debian's), in memory, on a free port: the shared rate-limit store."""
    service = start_redis(free_port(), log_path=artifacts_dir / "redis.log")
    yield service
    service.stop()


@pytest.fixture(scope="session")
def mail_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailServer]:
    """The local mail server of ``make run`` (aiosmtpd), on a free port, for the whole session."""
    server = start_mail_server(free_port(), tmp_path_factory.mktemp("mailbox"))
    yield server
    server.stop()


_CSRF_FIELD = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|'
    r'name="csrf_token" value="([^"]+)"'
)


def csrf_token_from(html: str) -> str:
    """Return the CSRF token of the first form in a page."""
    match = _CSRF_FIELD.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1) or match.group(2)


@pytest.fixture(scope="session")
def live_settings(
    dynamodb_local: LocalService, oidc_provider: LocalService, mail_server: MailServer
) -> dict[str, str]:
    """Settings for an app on the real local services, its emails to the local mail server."""
    return {
        "APP_ENV": "test",
        "SECRET_KEY": TEST_SECRET_KEY,
        "DYNAMODB_ENDPOINT": dynamodb_local.url,
        "DYNAMODB_TABLE_PREFIX": "live-",
        "OIDC_ISSUER": oidc_provider.url,
        "OIDC_CLIENT_ID": "payment-dashboard-tests",
        "OIDC_CLIENT_SECRET": "tests-secret",
        "PAYMENT_PROVIDER": "sandbox",
        "SMTP_URL": mail_server.url,
        "MAIL_FROM": "payments@dashboard.localhost",
        "MAILBOX_DIR": str(mail_server.directory),
    }


# A merchant whose data the code made before accounts and people were told apart: stored under
# its ``sub``, with no account, member or person item.
MERCHANT_FROM_BEFORE_ACCOUNTS = "before-accounts@example.com"
PAYMENTS_FROM_BEFORE_ACCOUNTS = 25


def _migrate_a_database_from_before_accounts(app: Flask) -> None:
    """Make the live database one the code before accounts left, then migrate it.

    Payments, orders, rollups, lookups and search items are written as they always were (an
    account's id is the old ``userId``, so their shape did not change); what the old code never
    wrote is the account, its member and the person. Every integration and e2e test then runs
    on the migrated database, and one e2e journey signs that merchant in.
    """
    runner = app.test_cli_runner()
    seeded = runner.invoke(
        args=["seed-demo", "--user", MERCHANT_FROM_BEFORE_ACCOUNTS, "--seed", "11",
              "--count", str(PAYMENTS_FROM_BEFORE_ACCOUNTS), "--orders", "3"]
    )  # fmt: skip
    assert seeded.exit_code == 0, seeded.output
    accounts = app.extensions["store"].accounts
    person = Person(app.extensions["settings"].oidc_issuer, MERCHANT_FROM_BEFORE_ACCOUNTS)
    assert accounts.get_person(person) is None  # nothing of accounts yet
    migrated = runner.invoke(args=["migrate-accounts"])
    assert migrated.exit_code == 0, migrated.output
    assert "migrated 1, 0 already" in migrated.output, migrated.output


@pytest.fixture(scope="session")
def live_app(live_settings: dict[str, str]) -> Iterator[LiveApp]:
    """The app served on a free port against DynamoDB Local and the OIDC provider.

    Its database is first made as the code before accounts left it, then migrated.
    """
    server = LiveApp(live_settings, free_port())
    server.start()
    assert server.app is not None
    _migrate_a_database_from_before_accounts(server.app)
    yield server
    server.stop()
    assert server.scans == [], f"requests issued Scans: {server.scans}"


@dataclass
class MotoWorld:
    """A store on moto, with the payment and order services on one fake clock."""

    store: Store
    clock: FakeClock
    sandbox: SandboxProvider
    payments: PaymentService
    orders: OrderService


def moto_world(prefix: str) -> MotoWorld:
    """Return a fresh store (tables named with ``prefix``) and its services; moto must be on.

    For the state machines, which make their world in ``@initialize`` rather than a fixture.
    """
    store = Store(make_client("eu-west-2", None), TableNames.with_prefix(prefix))
    store.ensure_tables()
    clock = FakeClock(datetime(2026, 11, 1, 9, 0, tzinfo=UTC))
    sandbox = SandboxProvider(store.sandbox_links, b"s", lambda link: f"http://t/{link}", clock)
    payments = PaymentService(store.payments, sandbox, lambda token: f"http://t/pay/{token}", clock)
    orders = OrderService(store.orders, payments, CursorCodec(TEST_SECRET_KEY), clock)
    return MotoWorld(store, clock, sandbox, payments, orders)


def place_order(app: Flask, user: str, order_id: str, **changes: object) -> Order:
    """Create an order through the service: one £5.00 manual for Ada, unless ``changes`` say."""
    values: dict[str, object] = {
        "customer_name": "Ada Lovelace",
        "customer_email": "ada@example.com",
        "product_name": "Manual",
        "quantity": 1,
        "unit_price": Decimal("5.00"),
        "currency": "GBP",
    }
    fields = OrderFields(**{**values, **changes})
    return app.extensions["order_service"].create_order(actor_for(user), order_id, fields)


def id_at(instant: datetime) -> str:
    """Return a fresh UUIDv7 minted as if at ``instant`` (a record created then, for date tests)."""
    return id_minted_at(instant)
