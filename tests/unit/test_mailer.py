"""The SMTP sender against a real aiosmtpd server: what arrives, what is refused, deadlines."""

from __future__ import annotations

import time
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller

from dashboard.local.services import free_port
from dashboard.providers.mailer import (
    MailNotSent,
    SmtpMailer,
    UnsafeHeader,
    build_message,
    message_id_for,
)
from tests.blackhole import Blackhole


class Inbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.original_content, policy=default_policy))
        return "250 OK"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, enable_SMTPUTF8=True)
    controller.start()
    yield handler, port
    controller.stop()


def _message(**changes: str) -> EmailMessage:
    values = {
        "sender_address": "payments@shop.example",
        "sender_name": "Café Ünïcode Ltd",
        "to": "ada@example.com",
        "subject": "Your payment link: £12.50 – order 7",
        "text": "Pay here: https://pay.example/p/1",
        "html": '<p>Pay <a href="https://pay.example/p/1">here</a></p>',
        "reply_to": "support@shop.example",
        "message_id": message_id_for("0193-abc", "payments@shop.example"),
        **changes,
    }
    return build_message(**values)


def test_a_message_arrives_with_both_parts_and_every_header(inbox):
    handler, port = inbox

    SmtpMailer(f"smtp://127.0.0.1:{port}").send(_message())

    [got] = handler.messages
    assert got["From"].addresses[0].display_name == "Café Ünïcode Ltd"
    assert got["From"].addresses[0].addr_spec == "payments@shop.example"
    assert got["To"] == "ada@example.com"
    assert got["Reply-To"] == "support@shop.example"
    assert got["Subject"] == "Your payment link: £12.50 – order 7"
    assert got["Message-ID"] == "<0193-abc@shop.example>"
    assert got["Date"].datetime is not None
    assert got.get_body(("plain",)).get_content().strip() == "Pay here: https://pay.example/p/1"
    assert 'href="https://pay.example/p/1"' in got.get_body(("html",)).get_content()


@pytest.mark.parametrize("field", ["sender_name", "subject", "to", "reply_to", "message_id"])
def test_a_line_break_in_a_header_is_refused_and_nothing_is_sent(field):
    with pytest.raises(UnsafeHeader):
        _message(**{field: "Shop\r\nBcc: victim@example.com"})


def test_a_server_that_is_down_is_mail_not_sent_at_once():
    started = time.monotonic()

    with pytest.raises(MailNotSent):
        SmtpMailer(f"smtp://127.0.0.1:{free_port()}", deadline_seconds=2).send(_message())

    assert time.monotonic() - started < 2


def test_a_server_that_never_answers_is_cut_at_the_deadline():
    hung = Blackhole()
    started = time.monotonic()
    try:
        with pytest.raises(MailNotSent, match=r"within 0\.5 seconds"):
            SmtpMailer(f"smtp://127.0.0.1:{hung.port}", deadline_seconds=0.5).send(_message())
    finally:
        hung.close()

    assert 0.4 < time.monotonic() - started < 1.5


def test_credentials_are_never_sent_without_starttls_nor_shown(inbox):
    handler, port = inbox
    mailer = SmtpMailer(f"smtp://user:hunter2secret@127.0.0.1:{port}")

    with pytest.raises(MailNotSent, match="STARTTLS") as refused:
        mailer.send(_message())

    assert handler.messages == []
    assert "hunter2secret" not in refused.value.reason
    assert "hunter2secret" not in repr(mailer)
