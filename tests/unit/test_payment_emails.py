"""Emails to payers on moto: the merchant emails the link from the payment page, the payer gets
a receipt when the payment completes; the delivery worker sends both, retries while the mail
server refuses, and audits each send. The mail server here is a recording sender; the SMTP
sender has its own tests against a real server."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime, timedelta

import pytest

from dashboard.core.clock import utc_now
from dashboard.core.ids import new_id
from dashboard.domain.actor import Channel
from dashboard.domain.audit import AuditAction
from dashboard.domain.deliveries import DeliveryState
from dashboard.domain.emails import Email, EmailKind, EmailNotSent
from dashboard.services import emails as emails_service
from dashboard.services.business import LogoUpload
from dashboard.services.refunds import NewRefund
from dashboard.store.audit import AuditFilter
from tests.conftest import actor_for
from tests.unit.conftest import csrf_token, sign_in
from tests.unit.test_payment_service import a_request

ACCOUNT = "alice@example.com"
ALICE = actor_for(ACCOUNT)


class MailServer:
    """Records what the worker hands over; refuses while ``down``."""

    def __init__(self) -> None:
        self.sent: list[tuple[Email, str]] = []
        self.down = False

    def __call__(self, email: Email, message_id: str) -> None:
        if self.down:
            raise EmailNotSent("The mail server refused the connection.")
        self.sent.append((email, message_id))


@pytest.fixture
def mail() -> MailServer:
    return MailServer()


class RunningClock:
    """The real time, moved on by hand: the app queues on the real clock, the worker runs on
    this one, so what was just queued is due, and a test can skip to the next retry."""

    def __init__(self) -> None:
        self.shift = timedelta()

    def __call__(self) -> datetime:
        return utc_now() + self.shift

    def advance(self, **delta: float) -> None:
        self.shift += timedelta(**delta)


@pytest.fixture
def clock() -> RunningClock:
    return RunningClock()


@pytest.fixture
def worker(app, mail, clock):
    """The app's delivery worker, sending emails to ``mail``, on the test clock."""
    base = app.extensions["delivery_worker"]
    return dataclasses.replace(
        base, send_email=mail, clock=clock, jitter=lambda: 0.0, threads=1
    )  # moto is not thread-safe


@pytest.fixture
def payment(app):
    with app.app_context():
        return app.extensions["payment_service"].create_payment_link(
            ALICE, a_request(payer_email="payer@example.com", reference="Invoice 42")
        )


def email_link(merchant, payment, sent_before=0):
    return merchant.post(
        f"/payments/{payment.payment_id}/email-link",
        data={
            "csrf_token": csrf_token(merchant),
            "account": ACCOUNT,
            "sent_before": str(sent_before),
        },
    )


def audit_entries(app, action):
    wanted = AuditFilter(action=action)
    return app.extensions["store"].audit.newest_first(ACCOUNT, wanted, 10).entries


def test_the_merchant_emails_the_link_and_the_page_shows_when_it_went(
    app, merchant, payment, worker, mail
):
    page = merchant.get(f"/payments/{payment.payment_id}").get_data(as_text=True)
    assert "Email link to payer@example.com" in page

    answer = email_link(merchant, payment)
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith(f"/payments/{payment.payment_id}#payment-emails")
    page = merchant.get(f"/payments/{payment.payment_id}").get_data(as_text=True)
    assert "The payment link is on its way" in page
    assert "Not sent yet" in page

    with app.app_context():
        assert worker.run_once().delivered == 1

    ((email, message_id),) = mail.sent
    assert email.kind is EmailKind.PAYMENT_LINK
    assert email.to == "payer@example.com"
    # The account's name until the merchant sets a business name: here its first person's.
    assert email.subject == f"{ACCOUNT}: payment of £12.50 requested"
    assert payment.link_url in email.text
    assert f'href="{payment.link_url}"' in email.html
    assert "Invoice 42" in email.text
    assert message_id.endswith(f".email-{payment.payment_id}")
    page = merchant.get(f"/payments/{payment.payment_id}").get_data(as_text=True)
    assert "Sent" in page
    assert "Not sent yet" not in page
    (requested,) = audit_entries(app, AuditAction.EMAIL_REQUESTED)
    assert requested.via is Channel.BROWSER
    assert requested.after == {"email": "Payment link", "to": "payer@example.com"}
    (sent,) = audit_entries(app, AuditAction.EMAIL_SENT)
    assert sent.via is Channel.SYSTEM


def test_a_request_sent_twice_from_one_page_emails_once(app, merchant, payment, worker, mail):
    email_link(merchant, payment, sent_before=0)
    email_link(merchant, payment, sent_before=0)  # a double click, or the browser's retry

    with app.app_context():
        worker.run_once()
    assert len(mail.sent) == 1

    email_link(merchant, payment, sent_before=1)  # asked again, on purpose, from the new page
    with app.app_context():
        worker.run_once()
    assert len(mail.sent) == 2


def test_a_link_is_emailed_at_most_five_times(app, merchant, payment):
    for sent in range(5):
        email_link(merchant, payment, sent_before=sent)

    answer = email_link(merchant, payment, sent_before=5)

    page = merchant.get(answer.headers["Location"]).get_data(as_text=True)
    assert "emailed 5 times already" in page
    emails = app.extensions["payment_emails"].emails_of(ACCOUNT, payment.payment_id)
    assert len(emails) == 5


def test_an_account_sends_at_most_its_daily_limit(app, merchant, payment, monkeypatch):
    monkeypatch.setattr(emails_service, "MAX_EMAILS_PER_ACCOUNT_PER_DAY", 1)
    email_link(merchant, payment, sent_before=0)

    answer = email_link(merchant, payment, sent_before=1)

    page = merchant.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Your account sent 1 emails today" in page
    assert len(app.extensions["payment_emails"].emails_of(ACCOUNT, payment.payment_id)) == 1


def test_a_payment_without_payer_email_or_live_link_is_not_emailed(app, merchant):
    with app.app_context():
        service = app.extensions["payment_service"]
        no_email = service.create_payment_link(ALICE, a_request())
        cancelled = service.create_payment_link(ALICE, a_request(payer_email="p@example.com"))
        service.cancel_payment(ALICE, cancelled.payment_id)

    page = merchant.get(f"/payments/{no_email.payment_id}").get_data(as_text=True)
    assert "Email link to" not in page
    answer = email_link(merchant, no_email)
    assert "has none" in merchant.get(answer.headers["Location"]).get_data(as_text=True)
    answer = email_link(merchant, cancelled)
    assert "Only a live link" in merchant.get(answer.headers["Location"]).get_data(as_text=True)
    for payment in (no_email, cancelled):
        assert app.extensions["payment_emails"].emails_of(ACCOUNT, payment.payment_id) == []


def test_another_accounts_payment_cannot_be_emailed(app, client, payment):
    bob = sign_in(client, "bob@example.com")
    answer = bob.post(
        f"/payments/{payment.payment_id}/email-link",
        data={"csrf_token": csrf_token(bob), "account": "bob@example.com", "sent_before": "0"},
    )

    assert answer.status_code == 404
    assert app.extensions["payment_emails"].emails_of(ACCOUNT, payment.payment_id) == []


def test_a_mail_server_that_is_down_never_fails_the_merchant_and_sends_once_when_back(
    app, merchant, payment, worker, mail, clock
):
    mail.down = True
    assert email_link(merchant, payment).status_code == 303
    with app.app_context():
        assert worker.run_once().failed == 1

    page = merchant.get(f"/payments/{payment.payment_id}").get_data(as_text=True)
    assert "Not sent yet" in page
    assert "The mail server refused the connection." in page

    mail.down = False
    clock.advance(minutes=1)
    with app.app_context():
        worker.run_once()
        worker.run_once()
    assert len(mail.sent) == 1
    (email,) = app.extensions["payment_emails"].emails_of(ACCOUNT, payment.payment_id)
    assert email.state is DeliveryState.DELIVERED
    assert [a.delivered for a in email.attempts] == [False, True]


def test_the_payer_gets_a_receipt_when_the_payment_completes(app, merchant, payment, worker, mail):
    with app.app_context():
        service = app.extensions["payment_service"]
        for event in app.extensions["payment_provider"].pay(payment.provider_link_id):
            service.apply_provider_event(event)
        worker.run_once()
        worker.run_once()

    ((email, _),) = mail.sent
    assert email.kind is EmailKind.RECEIPT
    assert email.to == "payer@example.com"
    assert email.subject == f"{ACCOUNT}: receipt for £12.50"
    assert "Invoice 42" in email.text
    assert "went through" in email.html


def test_emails_speak_in_the_business_name_with_its_reply_to(app, merchant, payment, worker, mail):
    with app.app_context():
        app.extensions["business"].update(ALICE, "Ada's Bakery", "help@ada.example", LogoUpload())
    email_link(merchant, payment)

    with app.app_context():
        worker.run_once()

    ((email, _),) = mail.sent
    assert email.sender_name == "Ada's Bakery"
    assert email.reply_to == "help@ada.example"
    assert email.subject.startswith("Ada's Bakery: payment of")
    assert "help@ada.example" in email.text
    assert "Ada&#39;s Bakery" in email.html  # escaped in HTML


def test_receipts_follow_the_business_setting(app, merchant, payment, worker, mail):
    page = merchant.get("/settings/business").get_data(as_text=True)
    assert 'name="send_receipts"' in page
    (box,) = re.findall(r'<input[^>]*name="send_receipts"[^>]*>', page)
    assert "checked" in box  # on, unless the account turns it off
    answer = merchant.post(
        "/settings/business",
        data={
            "csrf_token": csrf_token(merchant),
            "account": ACCOUNT,
            "business_name": "Ada's Bakery",
            "support_email": "",
        },  # the box unticked
    )
    assert answer.status_code == 303
    assert app.extensions["business"].profile(ACCOUNT).send_receipts is False

    with app.app_context():
        service = app.extensions["payment_service"]
        for event in app.extensions["payment_provider"].pay(payment.provider_link_id):
            service.apply_provider_event(event)
        worker.run_once()

    assert mail.sent == []
    (changed,) = audit_entries(app, AuditAction.SETTINGS_CHANGED)
    assert changed.after["receipts to payers"] == "off"


def test_the_payer_gets_a_refund_receipt_when_a_refund_is_executed(
    app, merchant, payment, worker, mail
):
    with app.app_context():
        service = app.extensions["payment_service"]
        provider = app.extensions["payment_provider"]
        for event in provider.pay(payment.provider_link_id):
            service.apply_provider_event(event)
        paid = app.extensions["refund_service"].request_refund(
            ALICE, payment.payment_id, NewRefund(new_id(), 250)
        )
        link_id, attempt_id = paid.provider_link_id, paid.succeeded_attempt.provider_payment_id
        provider.settle(link_id, attempt_id)
        refund = paid.refunds[0]
        for event in provider.execute_refund(link_id, attempt_id, refund.provider_refund_id):
            service.apply_provider_event(event)
        worker.run_once()
        worker.run_once()

    kinds = [email.kind for email, _ in mail.sent]
    assert sorted(kinds) == [EmailKind.RECEIPT, EmailKind.REFUND_RECEIPT]
    (refunded,) = [email for email, _ in mail.sent if email.kind is EmailKind.REFUND_RECEIPT]
    assert refunded.subject == f"{ACCOUNT}: £2.50 refunded"
    assert "£2.50 back to you" in refunded.text
    assert "£12.50 for Invoice 42" in refunded.text
    page = merchant.get(f"/payments/{payment.payment_id}").get_data(as_text=True)
    assert "Refund receipt" in page
