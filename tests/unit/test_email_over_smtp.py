"""The whole email path on moto and a real SMTP server: the merchant emails a payment link,
the delivery worker hands it to the local mail server (aiosmtpd, as ``make run`` starts it)
through the SMTP sender the app is built with. While the server is down the payment page says
so and nothing is lost; once it is up the email arrives exactly once, whole."""

from __future__ import annotations

import dataclasses
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from dashboard.local.mail_server import start_mail_server
from dashboard.local.services import free_port
from dashboard.providers.mailer import SmtpEmailSender, SmtpMailer
from tests.unit.test_payment_emails import ALICE, RunningClock, email_link
from tests.unit.test_payment_service import a_request

MAIL_FROM = "payments@dashboard.localhost"


@pytest.fixture
def payment(app):
    with app.app_context():
        return app.extensions["payment_service"].create_payment_link(
            ALICE, a_request(payer_email="payer@example.com", reference="Invoice 42")
        )


def test_an_email_queued_while_smtp_is_down_arrives_once_when_it_is_up(
    app, merchant, payment, tmp_path: Path
):
    port = free_port()  # nothing listens here yet: the mail server is down
    clock = RunningClock()
    sender = SmtpEmailSender(SmtpMailer(f"smtp://127.0.0.1:{port}"), MAIL_FROM)
    base = app.extensions["delivery_worker"]
    worker = dataclasses.replace(
        base, send_email=sender, clock=clock, jitter=lambda: 0.0, threads=1
    )  # moto is not thread-safe
    mailbox = tmp_path / "mail"

    assert email_link(merchant, payment).status_code == 303
    with app.app_context():
        assert worker.run_once().delivered == 0
    page = merchant.get(f"/payments/{payment.payment_id}").get_data(as_text=True)
    assert "Not sent yet" in page

    server = start_mail_server(port, mailbox)
    try:
        clock.advance(minutes=2)  # past the first retry (1 minute)
        with app.app_context():
            assert worker.run_once().delivered == 1
            clock.advance(hours=13)
            worker.run_once()  # nothing is due again: a sent email is never resent
    finally:
        server.stop()

    (stored,) = list(mailbox.iterdir())
    message = message_from_bytes(stored.read_bytes(), policy=policy.default)
    assert message["To"] == "payer@example.com"
    assert message["From"].addresses[0].addr_spec == MAIL_FROM
    assert message["From"].addresses[0].display_name == "alice@example.com"
    assert message["Message-ID"].startswith("<")
    assert f"email-{payment.payment_id}" in message["Message-ID"]
    assert payment.link_url in message.get_body(("plain",)).get_content()
    assert f'href="{payment.link_url}"' in message.get_body(("html",)).get_content()
    page = merchant.get(f"/payments/{payment.payment_id}").get_data(as_text=True)
    assert "Not sent yet" not in page
