"""Search finds any word of a payment's reference or payer name, on a real DynamoDB Local:
new payments index every word in their own transaction, and ``reindex-search`` backfills the
payments stored when only the first 8 words were indexed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from dashboard.app import create_app
from dashboard.core.ids import new_id
from dashboard.domain.timezones import zone_named
from dashboard.providers.sandbox import SandboxProvider
from dashboard.services.payments import NewPaymentLink, PaymentService
from dashboard.store.dynamo import store_time, to_item
from dashboard.store.index_items import searchable_words
from dashboard.web.payment_filters import parse_filters
from tests.conftest import FakeClock, actor_for

pytestmark = pytest.mark.integration
LONG_PAYER_NAME = "Ana María de la Cruz y Fernández del Río Ortega"
# The most words the form and API allow: 9 in the reference, 30 more in the payer name.
WORDIEST_REFERENCE = "a b c d e f g h i"
WORDIEST_PAYER_NAME = " ".join("jklmnopqrstuvwxyz0123456789αβγ")


@pytest.fixture(scope="module")
def app(live_settings):
    app = create_app(live_settings)
    app.extensions["store"].ensure_tables()
    return app


@pytest.fixture
def merchant() -> str:
    """A fresh merchant per test: the tests share one DynamoDB Local."""
    return f"merchant-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def service(app) -> PaymentService:
    clock = FakeClock(datetime(2026, 11, 20, 12, 0, tzinfo=UTC))
    sandbox = SandboxProvider(
        app.extensions["store"].sandbox_links,
        secret=b"integration",
        hosted_page_url=lambda link_id: f"http://testserver/sandbox/links/{link_id}",
        clock=clock,
    )
    return PaymentService(
        app.extensions["store"].payments,
        sandbox,
        return_uri_for=lambda token: f"http://testserver/pay/{token}",
        clock=clock,
    )


def create(service, merchant, reference, payer_name):
    request = NewPaymentLink(
        payment_id=new_id(),
        amount_minor=1250,
        currency="GBP",
        reference=reference,
        payer_name=payer_name,
        payer_email="payer@example.com",
    )
    return service.create_payment_link(actor_for(merchant), request)


def found_by(app, merchant, text) -> list[str]:
    """Return the ids of the merchant's payments the Payments page's search finds for ``text``."""
    listing = app.extensions["payment_listing"]
    page = listing.find_page(
        merchant, parse_filters({"q": text}, datetime.now(UTC).date(), zone_named(None)).query
    )
    return [p.payment_id for p in page.payments]


def test_a_merchant_finds_a_payment_by_the_last_word_of_a_long_payer_name(app, service, merchant):
    payment = create(service, merchant, "Rent March", LONG_PAYER_NAME)

    for word in ("ortega", "Río", "fernan", "cruz"):
        assert found_by(app, merchant, word) == [payment.payment_id], word


def test_the_wordiest_payment_allowed_is_stored_in_one_transaction_and_found_by_each_word(
    app, service, merchant
):
    payment = create(service, merchant, WORDIEST_REFERENCE, WORDIEST_PAYER_NAME)

    assert payment.status.value == "awaiting_payment"
    for word in ("a", "i", "j", "9", "γ"):
        assert found_by(app, merchant, word) == [payment.payment_id], word


def forget_words_after_the_eighth(app, payment) -> None:
    """Delete the word items the old code never wrote: the state of a payment stored then."""
    store = app.extensions["store"]
    created_at = store_time(payment.created_at)
    for word in searchable_words(payment)[8:]:
        key = {"userId": payment.user_id, "sk": f"w#{word}#{created_at}#{payment.payment_id}"}
        store.client.delete_item(TableName=store.tables.index, Key=to_item(key))


def test_reindex_search_backfills_the_words_old_payments_were_not_found_by(app, service, merchant):
    payments = [create(service, merchant, f"Rent {n}", LONG_PAYER_NAME) for n in range(3)]
    for payment in payments:
        forget_words_after_the_eighth(app, payment)
    assert found_by(app, merchant, "ortega") == []

    runner = app.test_cli_runner()
    first = runner.invoke(args=["reindex-search", "--merchant", merchant])

    assert first.exit_code == 0, first.output
    assert f"{merchant}: done, 3 payment(s)" in first.output
    assert "resume with --resume-from" in first.output
    assert sorted(found_by(app, merchant, "ortega")) == sorted(p.payment_id for p in payments)

    # Resuming after the newest payment writes nothing more; running again changes nothing.
    resume = runner.invoke(
        args=["reindex-search", "--merchant", merchant, "--after-payment", payments[-1].payment_id]
    )
    assert resume.exit_code == 0, resume.output
    assert f"{merchant}: done, 0 payment(s), 0 search item(s) written" in resume.output
    again = runner.invoke(args=["reindex-search", "--merchant", merchant])
    assert f"{merchant}: done, 3 payment(s)" in again.output
    assert sorted(found_by(app, merchant, "ortega")) == sorted(p.payment_id for p in payments)
