"""Refunds from the payment page, through Flask's test client on moto and the sandbox provider:
the form, the reservation, double submits, the sandbox's settlement and refund controls (whose
webhooks go through the real pipeline), returns, provider failures and adoption, step-up."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from dashboard.domain.accounts import Membership
from dashboard.domain.actor import Person, Role
from dashboard.domain.payments import Payment
from dashboard.domain.refunds import RefundStatus
from dashboard.providers.base import ProviderUnavailable
from dashboard.services.sessions import SESSION_ID_KEY, STEP_UP_MAX_AGE
from dashboard.store.audit import AuditFilter
from dashboard.store.dynamo import from_item, to_item
from dashboard.store.index_items import REFUNDED_MINOR, REFUNDS_EXECUTED, all_time_rollup_key
from tests.conftest import csrf_token_from
from tests.unit.conftest import sign_in

ACCOUNT = "alice@example.com"
_REFUND_TOKEN = re.compile(r'name="refund_token" type="hidden" value="([^"]+)"')


def _paid_payment(app: Flask, merchant: FlaskClient, amount: str = "20.00") -> str:
    """Create a link as the merchant, pay it as a payer in the sandbox, return its id."""
    html = merchant.get("/payments/new").get_data(as_text=True)
    token = re.search(r'name="payment_token" type="hidden" value="([^"]+)"', html).group(1)
    created = merchant.post(
        "/payments",
        data={
            "csrf_token": csrf_token_from(html),
            "payment_token": token,
            "amount": amount,
            "currency": "GBP",
            "reference": "Invoice 42",
        },
    )
    payment_id = created.headers["Location"].rsplit("/", 1)[1]
    link_id = _payment(app, payment_id).provider_link_id
    payer = app.test_client()
    page = payer.get(f"/sandbox/links/{link_id}").get_data(as_text=True)
    payer.post(f"/sandbox/links/{link_id}/pay", data={"csrf_token": csrf_token_from(page)})
    assert _payment(app, payment_id).status.value == "completed"
    return payment_id


def _payment(app: Flask, payment_id: str) -> Payment:
    return app.extensions["store"].payments.get(ACCOUNT, payment_id)


def _refund_form(merchant: FlaskClient, payment_id: str) -> dict[str, str]:
    html = merchant.get(f"/payments/{payment_id}/refund").get_data(as_text=True)
    return {
        "csrf_token": csrf_token_from(html),
        "refund_token": _REFUND_TOKEN.search(html).group(1),
    }


def _refund(merchant: FlaskClient, payment_id: str, amount: str, **extra: str):
    form = {**_refund_form(merchant, payment_id), "amount": amount, **extra}
    return merchant.post(f"/payments/{payment_id}/refunds", data=form)


def _controls(app: Flask, payment_id: str) -> tuple[FlaskClient, str]:
    """Return a client on the sandbox's controls page of the payment, and the page's path."""
    payment = _payment(app, payment_id)
    path = (
        f"/sandbox/links/{payment.provider_link_id}/payments/"
        f"{payment.succeeded_attempt.provider_payment_id}"
    )
    return app.test_client(), path


def _sandbox_post(app: Flask, payment_id: str, action: str) -> None:
    client, path = _controls(app, payment_id)
    token = csrf_token_from(client.get(path).get_data(as_text=True))
    answer = client.post(f"{path}/{action}", data={"csrf_token": token})
    assert answer.status_code == 303, answer.get_data(as_text=True)


def _sandbox_refund_id(app: Flask, payment_id: str, index: int = 0) -> str:
    return _payment(app, payment_id).refunds[index].provider_refund_id


def _all_time(app: Flask) -> dict:
    store = app.extensions["store"]
    item = store.client.get_item(
        TableName=store.tables.index,
        Key=to_item({"userId": ACCOUNT, "sk": all_time_rollup_key("GBP")}),
        ConsistentRead=True,
    )["Item"]
    return from_item(item)


def _viewer(app: Flask) -> FlaskClient:
    """Return a browser signed in as a Viewer of the merchant's account."""
    person = Person(app.extensions["settings"].oidc_issuer, "viewer@example.com")
    app.extensions["store"].accounts.add_member(
        Membership(ACCOUNT, "Shop", person, Role.VIEWER, email="viewer@example.com")
    )
    sessions = app.extensions["sessions"]
    session_id = sessions.start(person, ACCOUNT, email=person.sub, auth_time=sessions.clock())
    client = app.test_client()
    with client.session_transaction() as session:
        session.permanent = True
        session[SESSION_ID_KEY] = session_id
    return client


@pytest.fixture
def merchant(client: FlaskClient) -> FlaskClient:
    return sign_in(client)


def test_the_form_offers_all_that_is_refundable_and_says_the_payment_has_not_settled(app, merchant):
    payment_id = _paid_payment(app, merchant)
    page = merchant.get(f"/payments/{payment_id}").get_data(as_text=True)
    assert 'id="refund-button"' in page

    form = merchant.get(f"/payments/{payment_id}/refund").get_data(as_text=True)

    assert 'value="20.00"' in form
    assert "Waiting for the payment to settle" in form
    assert ">Refund payment</button>" in form


def test_a_partial_refund_waits_for_settlement_then_executes_through_the_webhooks(app, merchant):
    payment_id = _paid_payment(app, merchant)

    answer = _refund(merchant, payment_id, "5.00", reason="Damaged box")

    assert answer.status_code == 303
    refund = _payment(app, payment_id).refunds[0]
    assert (refund.status, refund.amount_minor, refund.reason) == (
        RefundStatus.PENDING,
        500,
        "Damaged box",
    )
    page = merchant.get(f"/payments/{payment_id}").get_data(as_text=True)
    assert "Waiting for the payment to settle." in page
    assert "Damaged box" in page
    assert 'hx-trigger="every 3s"' in page

    _sandbox_post(app, payment_id, "settle")
    _sandbox_post(app, payment_id, f"refunds/{_sandbox_refund_id(app, payment_id)}/execute")

    payment = _payment(app, payment_id)
    assert payment.refunds[0].status is RefundStatus.EXECUTED
    assert payment.status.value == "completed"  # the payment itself stays completed
    page = merchant.get(f"/payments/{payment_id}").get_data(as_text=True)
    assert "Partly refunded" in page
    assert "£5.00 of £20.00 went back to the payer" in page
    assert "Refund executed" in page  # on the timeline
    rollup = _all_time(app)
    assert (rollup[REFUNDS_EXECUTED], rollup[REFUNDED_MINOR]) == (1, 500)


def test_a_second_refund_of_the_rest_refunds_it_in_full_and_a_return_reverses_one(app, merchant):
    payment_id = _paid_payment(app, merchant)
    _sandbox_post(app, payment_id, "settle")
    _refund(merchant, payment_id, "5.00")
    _refund(merchant, payment_id, "15.00")
    for index in (0, 1):
        _sandbox_post(
            app, payment_id, f"refunds/{_sandbox_refund_id(app, payment_id, index)}/execute"
        )

    page = merchant.get(f"/payments/{payment_id}").get_data(as_text=True)
    assert ">Refunded</span>" in page
    assert 'id="refund-button"' not in page  # nothing is left to refund
    assert _all_time(app)[REFUNDED_MINOR] == 2000

    _sandbox_post(app, payment_id, f"refunds/{_sandbox_refund_id(app, payment_id, 1)}/return")

    payment = _payment(app, payment_id)
    assert payment.refunds[1].status is RefundStatus.FAILED
    assert payment.refunds[1].failure_reason == "returned"
    assert (payment.refunded_minor, payment.refundable_minor) == (500, 1500)
    rollup = _all_time(app)
    assert (rollup[REFUNDS_EXECUTED], rollup[REFUNDED_MINOR]) == (1, 500)
    page = merchant.get(f"/payments/{payment_id}").get_data(as_text=True)
    assert "Partly refunded" in page
    assert "returned the money" in page


def test_more_than_is_refundable_is_refused_with_the_amount_kept_and_nothing_written(app, merchant):
    payment_id = _paid_payment(app, merchant)
    _refund(merchant, payment_id, "15.00")

    answer = _refund(merchant, payment_id, "6.00", reason="Late")

    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert "At most £5.00 can still be refunded." in html
    assert 'value="6.00"' in html
    assert "Late" in html
    assert len(_payment(app, payment_id).refunds) == 1


def test_a_double_submit_makes_one_refund(app, merchant):
    payment_id = _paid_payment(app, merchant)
    form = {**_refund_form(merchant, payment_id), "amount": "5.00"}

    first = merchant.post(f"/payments/{payment_id}/refunds", data=form)
    second = merchant.post(f"/payments/{payment_id}/refunds", data=form)

    assert first.status_code == second.status_code == 303
    assert len(_payment(app, payment_id).refunds) == 1
    assert len(app.extensions["payment_provider"].refunds(
        _payment(app, payment_id).succeeded_attempt.provider_payment_id,
        _payment(app, payment_id).provider_link_id,
    )) == 1  # fmt: skip


def test_an_unpaid_payment_has_no_refund_form(app, merchant):
    html = merchant.get("/payments/new").get_data(as_text=True)
    token = re.search(r'name="payment_token" type="hidden" value="([^"]+)"', html).group(1)
    created = merchant.post(
        "/payments",
        data={
            "csrf_token": csrf_token_from(html),
            "payment_token": token,
            "amount": "3.00",
            "currency": "GBP",
            "reference": "Unpaid",
        },
    )
    payment_id = created.headers["Location"].rsplit("/", 1)[1]

    answer = merchant.get(f"/payments/{payment_id}/refund")

    assert answer.status_code == 303
    assert 'id="refund-button"' not in merchant.get(f"/payments/{payment_id}").get_data(
        as_text=True
    )


def test_a_provider_that_is_down_leaves_a_retryable_refund_holding_its_amount(
    app, merchant, monkeypatch
):
    payment_id = _paid_payment(app, merchant)
    provider = app.extensions["payment_provider"]

    def down(_request):
        raise ProviderUnavailable("TrueLayer unreachable")

    monkeypatch.setattr(provider, "create_refund", down)
    _refund(merchant, payment_id, "20.00")

    payment = _payment(app, payment_id)
    assert payment.refunds[0].status is RefundStatus.CREATION_FAILED
    # Unanswered is not refused: it may have been made, so it holds its amount until the
    # provider's list says otherwise (the sync's job, or this retry's).
    assert payment.refunds[0].in_doubt
    assert payment.refundable_minor == 0
    page = merchant.get(f"/payments/{payment_id}").get_data(as_text=True)
    assert "did not answer" in page
    assert ">Retry refund</button>" in page

    monkeypatch.undo()
    refund_id = payment.refunds[0].refund_id
    retried = merchant.post(
        f"/payments/{payment_id}/refunds/{refund_id}/retry",
        data={"csrf_token": csrf_token_from(page)},
    )

    assert retried.status_code == 303
    assert _payment(app, payment_id).refunds[0].status is RefundStatus.PENDING


def test_a_refund_the_provider_made_while_its_answer_was_lost_is_adopted_not_made_twice(
    app, merchant, monkeypatch
):
    payment_id = _paid_payment(app, merchant)
    provider = app.extensions["payment_provider"]
    real = provider.create_refund

    def made_then_lost(request):
        real(request)
        raise ProviderUnavailable("timed out reading the answer")

    monkeypatch.setattr(provider, "create_refund", made_then_lost)
    _refund(merchant, payment_id, "7.00")
    monkeypatch.undo()
    payment = _payment(app, payment_id)
    assert payment.refunds[0].status is RefundStatus.CREATION_FAILED
    page = merchant.get(f"/payments/{payment_id}").get_data(as_text=True)

    sent = []
    monkeypatch.setattr(provider, "create_refund", lambda r: sent.append(r) or real(r))
    merchant.post(
        f"/payments/{payment_id}/refunds/{payment.refunds[0].refund_id}/retry",
        data={"csrf_token": csrf_token_from(page)},
    )

    adopted = _payment(app, payment_id).refunds[0]
    assert adopted.status is RefundStatus.PENDING
    assert adopted.provider_refund_id
    assert sent == []  # found in the provider's list: not asked for again
    attempt = payment.succeeded_attempt.provider_payment_id
    assert len(provider.refunds(attempt, payment.provider_link_id)) == 1


def test_a_refund_needs_a_recent_sign_in(app, merchant):
    payment_id = _paid_payment(app, merchant)
    form = {**_refund_form(merchant, payment_id), "amount": "5.00"}
    sessions = app.extensions["sessions"]
    later = sessions.clock() + STEP_UP_MAX_AGE
    sessions.clock = lambda: later + STEP_UP_MAX_AGE

    asked = merchant.get(f"/payments/{payment_id}/refund")
    posted = merchant.post(f"/payments/{payment_id}/refunds", data=form)

    assert asked.status_code == posted.status_code == 401
    assert "Confirm it" in posted.get_data(as_text=True)
    assert _payment(app, payment_id).refunds == ()


def test_a_viewer_sees_refunds_but_no_refund_button(app, merchant):
    payment_id = _paid_payment(app, merchant)
    _refund(merchant, payment_id, "5.00")
    viewer = _viewer(app)

    page = viewer.get(f"/payments/{payment_id}").get_data(as_text=True)

    assert "Refunds" in page
    assert "£5.00" in page
    assert 'id="refund-button"' not in page
    assert viewer.get(f"/payments/{payment_id}/refund").status_code == 403


def test_the_audit_log_records_the_request_and_every_status_change(app, merchant):
    payment_id = _paid_payment(app, merchant)
    _sandbox_post(app, payment_id, "settle")
    _refund(merchant, payment_id, "5.00", reason="Wrong size")
    _sandbox_post(app, payment_id, f"refunds/{_sandbox_refund_id(app, payment_id)}/execute")

    entries = app.extensions["store"].audit.newest_first(ACCOUNT, AuditFilter(), 10).entries
    actions = [e.action.value for e in entries if e.target_id == payment_id]

    assert actions.count("refund.requested") == 1
    assert actions.count("refund.status_changed") == 2  # sent (pending), then executed
    requested = next(e for e in entries if e.action.value == "refund.requested")
    assert requested.after["reason"] == "Wrong size"
    assert requested.after["refund_amount"] == "5.00 GBP"
    executed = entries[0]
    assert executed.via.value == "webhook"
    assert executed.after["refund_status"] == "executed"
