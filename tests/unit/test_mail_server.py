"""The local mail server receives what the app's sender sends and keeps every message."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

import pytest

from dashboard.domain.emails import Email, EmailKind, EmailNotSent
from dashboard.local.mail_server import start_mail_server, store_message
from dashboard.local.services import free_port
from dashboard.providers.mailer import SmtpEmailSender, SmtpMailer


def _email(**changes: str) -> Email:
    values = {
        "kind": EmailKind.PAYMENT_LINK,
        "to": "payer@example.com",
        "subject": "Your payment to Ada's Shop",
        "text": "Pay here: http://127.0.0.1/pay/x",
        "html": "<p>Pay <a href='http://127.0.0.1/pay/x'>here</a></p>",
        "sender_name": "Ada's Shop",
        "reply_to": "help@ada.example",
        **changes,
    }
    return Email(**values)  # type: ignore[arg-type]


@pytest.fixture
def mail_server(tmp_path: Path):
    server = start_mail_server(free_port(), tmp_path / "mail")
    yield server
    server.stop()


def test_an_email_sent_arrives_whole_with_its_headers_and_both_parts(mail_server):
    send = SmtpEmailSender(SmtpMailer(mail_server.url), "payments@dashboard.localhost")

    send(_email(), "evt1.email-pay1")
    send(_email(subject="Second"), "evt2.email-pay1")

    files = sorted(mail_server.directory.glob("*.eml"))
    assert len(files) == 2  # every message kept
    message = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert message["From"] == "Ada's Shop <payments@dashboard.localhost>"
    assert message["Reply-To"] == "help@ada.example"
    assert message["Message-ID"] == "<evt1.email-pay1@dashboard.localhost>"
    assert message["Subject"] == "Your payment to Ada's Shop"
    assert "Pay here" in message.get_body(("plain",)).get_content()
    assert "<a href=" in message.get_body(("html",)).get_content()
    assert not list(mail_server.directory.glob(".incoming-*"))  # no temporary left


def test_a_line_break_in_a_business_name_is_never_sent(mail_server):
    send = SmtpEmailSender(SmtpMailer(mail_server.url), "payments@dashboard.localhost")

    with pytest.raises(EmailNotSent, match="line break"):
        send(_email(sender_name="Shop\r\nBcc: victim@example.com"), "evt.email-p")
    with pytest.raises(EmailNotSent, match="line break"):
        send(_email(subject="Ref\nBcc: victim@example.com"), "evt.email-p")

    assert list(mail_server.directory.glob("*.eml")) == []


def test_a_stopped_server_is_an_email_not_sent(tmp_path: Path):
    server = start_mail_server(free_port(), tmp_path)
    server.stop()
    send = SmtpEmailSender(SmtpMailer(server.url, 2), "payments@dashboard.localhost")

    with pytest.raises(EmailNotSent):
        send(_email(), "evt.email-p")


def test_messages_are_named_by_arrival_so_they_sort_oldest_first(tmp_path: Path):
    first = store_message(tmp_path, b"Subject: one\r\n\r\nx")
    second = store_message(tmp_path, b"Subject: two\r\n\r\ny")

    assert sorted(p.name for p in tmp_path.iterdir()) == [first.name, second.name]
    assert second.read_bytes().endswith(b"y")
