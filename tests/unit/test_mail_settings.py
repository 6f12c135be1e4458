"""SMTP_URL, MAIL_FROM and MAILBOX_DIR: parsed at start-up, the password never shown."""

from __future__ import annotations

import pytest

from dashboard.app import create_app
from dashboard.config import ConfigError, Settings, load_settings
from tests.conftest import TEST_SECRET_KEY

BASE = {"APP_ENV": "test", "SECRET_KEY": TEST_SECRET_KEY}


def test_the_smtp_password_is_never_in_the_settings_repr():
    settings = load_settings(
        {**BASE, "SMTP_URL": "smtp://mailer:hunter2-secret@smtp.example.com:587",
         "MAIL_FROM": "payments@example.com"}
    )  # fmt: skip

    assert settings.smtp_url.endswith("@smtp.example.com:587")
    assert "hunter2-secret" not in repr(settings)
    assert settings.mail_from == "payments@example.com"


def test_a_bad_smtp_url_is_refused_without_quoting_it():
    with pytest.raises(ConfigError) as refused:
        load_settings({**BASE, "SMTP_URL": "http://u:hunter2-secret@host", "MAIL_FROM": "a@b.c"})

    assert "SMTP_URL" in str(refused.value)
    assert "hunter2-secret" not in str(refused.value)


@pytest.mark.parametrize("mail_from", ["payments", "Shop <a@b.example>", "a@b.example\nBcc: x@y"])
def test_mail_from_must_be_one_plain_address(mail_from):
    with pytest.raises(ConfigError, match="MAIL_FROM"):
        load_settings({**BASE, "MAIL_FROM": mail_from})


def test_an_smtp_server_needs_a_from_address():
    with pytest.raises(ConfigError, match="set MAIL_FROM"):
        load_settings({**BASE, "SMTP_URL": "smtps://smtp.example.com"})


def test_the_mailbox_is_var_mail_unless_set():
    assert load_settings(BASE).mailbox_dir == "var/mail"
    assert load_settings({**BASE, "MAILBOX_DIR": "mail/box"}).mailbox_dir == "mail/box"


def test_without_smtp_url_the_worker_sends_nothing_and_emails_stay_queued():
    app = create_app(BASE)

    assert app.extensions["delivery_worker"].send_email is None


def test_with_smtp_url_the_worker_sends_through_it():
    app = create_app({**BASE, "SMTP_URL": "smtp://127.0.0.1:2525", "MAIL_FROM": "p@d.localhost"})

    assert app.extensions["delivery_worker"].send_email is not None


def test_no_secret_of_the_settings_is_in_their_repr():
    settings = Settings(
        secret_key="session-secret-1234",
        oidc_client_secret="oidc-secret-1234",
        truelayer_client_secret="truelayer-secret-1234",
        webhook_secrets_key="webhook-key-1234",
        smtp_url="smtp://user:smtp-secret-1234@mail.example.com:587",
    )

    shown = repr(settings)

    assert "-1234" not in shown
    assert "app_env=" in shown
