"""The Mailbox: the local mail server's emails, newest first, never a file outside it."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard.app import create_app
from dashboard.config import Settings
from dashboard.local.mail_server import store_message
from dashboard.providers.mailer import build_message
from dashboard.store.secret_box import DEVELOPMENT_KEY
from tests.conftest import TEST_SECRET_KEY


def _message(subject: str) -> bytes:
    return build_message(
        sender_address="payments@dashboard.localhost",
        sender_name="Ada's Shop",
        to="payer@example.com",
        subject=subject,
        text="Pay here: http://127.0.0.1:5000/pay/abc",
        html='<p><a href="http://127.0.0.1:5000/pay/abc">Pay now</a></p><script>x()</script>',
        reply_to="help@ada.example",
        message_id="<e1.email-p@dashboard.localhost>",
    ).as_bytes()


@pytest.fixture
def mailbox(tmp_path: Path) -> Path:
    return tmp_path / "mail"


@pytest.fixture
def mail_client(mailbox: Path):
    app = create_app(
        {"APP_ENV": "test", "SECRET_KEY": TEST_SECRET_KEY, "MAILBOX_DIR": str(mailbox)}
    )
    return app.test_client()


def test_the_list_shows_the_newest_email_first(mail_client, mailbox):
    store_message(mailbox, _message("Older email"))
    store_message(mailbox, _message("Newer email"))

    page = mail_client.get("/dev/mailbox")

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.index("Newer email") < html.index("Older email")
    assert "Ada&#39;s Shop &lt;payments@dashboard.localhost&gt;" in html
    assert page.headers["Cache-Control"] == "no-store"


def test_an_email_shows_its_headers_text_and_a_sandboxed_html_part(mail_client, mailbox):
    name = store_message(mailbox, _message("Your link")).name

    page = mail_client.get(f"/dev/mailbox/{name}").get_data(as_text=True)
    frame = mail_client.get(f"/dev/mailbox/{name}/html")

    assert "Reply-To" in page
    assert "help@ada.example" in page
    assert "<pre" in page
    assert "Pay here: http://127.0.0.1:5000/pay/abc" in page
    assert 'sandbox="allow-popups' in page
    assert "allow-scripts" not in page
    assert frame.headers["Content-Security-Policy"].startswith("sandbox ")
    assert "allow-scripts" not in frame.headers["Content-Security-Policy"]
    assert frame.headers["X-Content-Type-Options"] == "nosniff"
    assert "Pay now" in frame.get_data(as_text=True)


@pytest.mark.parametrize(
    "name",
    ["..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "secret.txt", "00000000000000000001-abc.eml"],
)
def test_a_name_that_is_not_a_message_of_the_mailbox_is_a_404(mail_client, mailbox, name):
    mailbox.mkdir(parents=True)
    (mailbox.parent / "secret.txt").write_text("Subject: secret\n\nno")
    (mailbox / "secret.txt").write_text("Subject: secret\n\nno")

    assert mail_client.get(f"/dev/mailbox/{name}").status_code == 404
    assert mail_client.get(f"/dev/mailbox/{name}/html").status_code == 404


def test_the_mailbox_is_a_404_in_production(monkeypatch, mailbox):
    store_message(mailbox, _message("Your link"))
    # Settings handed in whole (no start-up checks) and a stand-in provider: only the
    # production switch matters here.
    monkeypatch.setattr("dashboard.app._make_provider", lambda *_args: object())
    settings = Settings(
        app_env="production",
        secret_key=TEST_SECRET_KEY,
        webhook_secrets_key=DEVELOPMENT_KEY,
        public_base_url="https://payments.example.com",
        mailbox_dir=str(mailbox),
    )
    client = create_app(settings).test_client()

    answer = client.get("/dev/mailbox", base_url="https://payments.example.com")

    assert answer.status_code == 404
