"""Email over SMTP: build one message safely, send it once within one total deadline.

* ``build_message`` makes an ``EmailMessage`` with the default policy, which refuses a line
  break in any header; a line break in a name, subject or address is refused here first, with
  a clear ``UnsafeHeader``, so nothing is ever sent with an injected header.
* ``SmtpMailer`` sends over ``smtp://`` (STARTTLS) or ``smtps://`` (implicit TLS). STARTTLS is
  required unless the server is on loopback, in development, and no credentials are given.
  One deadline covers connect, EHLO, STARTTLS, AUTH and DATA: a watchdog shuts the socket when
  it comes, so a server that trickles bytes cannot hold the caller.

Every failure is one ``MailNotSent`` whose reason is safe to show and log: it never holds the
password of ``SMTP_URL``. Nothing here retries: the caller decides.
"""

from __future__ import annotations

import contextlib
import ipaddress
import smtplib
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import format_datetime
from urllib.parse import unquote, urlsplit

import certifi

from dashboard.core.clock import utc_now
from dashboard.domain.emails import Email, EmailNotSent

MAIL_DEADLINE_SECONDS = 10.0
# Every character str.splitlines() breaks on: any of them could end a header for some reader.
_LINE_BREAKS = frozenset("\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029")


class UnsafeHeader(ValueError):
    """Raised when a header value would carry a line break (a header injection): not built."""


class MailNotSent(Exception):
    """Raised for every failure to send; ``reason`` is safe to show and log (no password)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SmtpServer:
    """Where ``SMTP_URL`` points: scheme, host, port and the credentials, kept out of repr."""

    scheme: str
    host: str
    port: int
    username: str = ""
    password: str = field(default="", repr=False)

    @property
    def is_loopback(self) -> bool:
        """Return True when the host is this machine (a local development server)."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def parse_smtp_url(url: str) -> SmtpServer:
    """Return the server ``url`` names; raise ValueError (never quoting the password) if none."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError(f"must start with smtp:// or smtps://, not {parts.scheme!r}://…")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("has a port that is not a number") from None
    if not parts.hostname:
        raise ValueError("names no host (smtp://user:password@host:587)")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("is scheme://[user:password@]host[:port] only")
    return SmtpServer(
        scheme=parts.scheme,
        host=parts.hostname,
        port=port or (465 if parts.scheme == "smtps" else 587),
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
    )


def _safe(name: str, value: str) -> str:
    if any(character in _LINE_BREAKS for character in value):
        raise UnsafeHeader(f"The {name} contains a line break, which email headers refuse.")
    return value


def _address(name: str, value: str, display_name: str = "") -> Address:
    try:
        return Address(display_name=_safe(name, display_name), addr_spec=_safe(name, value))
    except UnsafeHeader:
        raise
    except (ValueError, IndexError):
        raise UnsafeHeader(f"The {name} is not an email address.") from None


def build_sender_address(address: str) -> Address:
    """Return ``address`` (MAIL_FROM) as an Address; raise UnsafeHeader unless it is one."""
    built = _address("sender", address)
    if not built.domain or not built.username or built.addr_spec != address:
        raise UnsafeHeader("The sender is not an email address.")
    return built


def build_message(
    *,
    sender_address: str,
    sender_name: str,
    to: str,
    subject: str,
    text: str,
    html: str,
    reply_to: str | None = None,
    message_id: str,
    date: datetime | None = None,
) -> EmailMessage:
    """Return the email: From the business name at ``sender_address``, text with an HTML part.

    ``message_id`` (``<id@domain>``) is the caller's, stable per message, so a retried send is
    recognisable. Raises ``UnsafeHeader`` for a line break in any header value.
    """
    message = EmailMessage(policy=default_policy)
    message["From"] = _address("sender", sender_address, sender_name)
    message["To"] = _address("recipient", to)
    if reply_to:
        message["Reply-To"] = _address("reply-to address", reply_to)
    message["Subject"] = _safe("subject", subject)
    message_id = _safe("message id", message_id)
    if not (message_id.startswith("<") and message_id.endswith(">") and "@" in message_id):
        raise UnsafeHeader("The message id must read like <id@domain>.")
    message["Message-ID"] = message_id
    message["Date"] = format_datetime(date or utc_now())
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def message_id_for(record_id: str, sender_address: str) -> str:
    """Return the stable Message-ID of the message kept as ``record_id``."""
    return f"<{record_id}@{sender_address.rpartition('@')[2]}>"


class SmtpMailer:
    """Sends messages to the server of ``SMTP_URL``, one connection per message."""

    def __init__(
        self,
        url: str,
        deadline_seconds: float = MAIL_DEADLINE_SECONDS,
        *,
        production: bool = False,
        tls_context: ssl.SSLContext | None = None,
    ):
        self._server = parse_smtp_url(url)
        self._deadline_seconds = deadline_seconds
        self._require_tls = (
            production or bool(self._server.username) or not (self._server.is_loopback)
        )
        self._tls = tls_context or ssl.create_default_context(cafile=certifi.where())

    def __repr__(self) -> str:
        server = self._server
        return f"SmtpMailer({server.scheme}://{server.host}:{server.port})"

    def send(self, message: EmailMessage) -> None:
        """Send ``message`` once; raise ``MailNotSent`` with a safe reason for any failure."""
        started = time.monotonic()
        connection: smtplib.SMTP
        if self._server.scheme == "smtps":
            connection = smtplib.SMTP_SSL(context=self._tls, timeout=self._deadline_seconds)
        else:
            connection = smtplib.SMTP(timeout=self._deadline_seconds)
        watchdog = threading.Timer(self._deadline_seconds, _cut, args=(connection,))
        watchdog.daemon = True
        watchdog.start()
        try:
            self._exchange(connection, message)
        except MailNotSent:
            raise
        except (smtplib.SMTPException, OSError, ValueError) as exc:
            if time.monotonic() - started >= self._deadline_seconds:
                raise MailNotSent(
                    f"No answer from the mail server within {self._deadline_seconds:g} seconds."
                ) from None
            raise MailNotSent(self._reason(exc)) from None
        finally:
            watchdog.cancel()
            with contextlib.suppress(Exception):
                connection.close()

    def _exchange(self, connection: smtplib.SMTP, message: EmailMessage) -> None:
        server = self._server
        connection.connect(server.host, server.port)
        connection.ehlo()
        if server.scheme == "smtp":
            if connection.has_extn("starttls"):
                connection.starttls(context=self._tls)
                connection.ehlo()
            elif self._require_tls:
                raise MailNotSent(
                    "The mail server does not offer STARTTLS, which is required here."
                )
        if server.username:
            connection.login(server.username, server.password)
        connection.send_message(message)
        with contextlib.suppress(smtplib.SMTPException, OSError):
            connection.quit()

    def _reason(self, exc: Exception) -> str:
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            reason = f"The mail server refused the user name or password ({exc.smtp_code})."
        elif isinstance(exc, smtplib.SMTPRecipientsRefused):
            codes = ", ".join(str(code) for code, _ in exc.recipients.values())
            reason = f"The mail server refused the recipient ({codes})."
        elif isinstance(exc, smtplib.SMTPResponseException):
            text = exc.smtp_error
            if isinstance(text, bytes):
                text = text.decode("utf-8", "replace")
            reason = f"The mail server answered {exc.smtp_code}: {text}"
        else:
            reason = f"Could not send: {exc.__class__.__name__}: {exc}"
        if self._server.password:
            reason = reason.replace(self._server.password, "…")
        return reason[:300]


class SmtpEmailSender:
    """Sends the app's emails (``Email``) From ``MAIL_FROM`` through one ``SmtpMailer``.

    The worker's ``send_email``: any failure is an ``EmailNotSent``. A header with a line break
    (a business name or reference crafted to inject one) is never sent: each attempt refuses
    it the same way and the delivery is given up on the worker's usual schedule.
    """

    def __init__(self, mailer: SmtpMailer, mail_from: str):
        self._mailer = mailer
        self._mail_from = mail_from

    def __call__(self, email: Email, record_id: str) -> None:
        """Build ``email`` under the Message-ID of ``record_id`` and send it once."""
        try:
            message = build_message(
                sender_address=self._mail_from,
                sender_name=email.sender_name,
                to=email.to,
                subject=email.subject,
                text=email.text,
                html=email.html,
                reply_to=email.reply_to,
                message_id=message_id_for(record_id, self._mail_from),
            )
            self._mailer.send(message)
        except (UnsafeHeader, MailNotSent) as exc:
            raise EmailNotSent(str(exc)) from None


def _cut(connection: smtplib.SMTP) -> None:
    """Shut the connection's socket so a read blocked on it returns now."""
    sock = getattr(connection, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
