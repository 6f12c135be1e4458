"""Routes of the Mailbox: the list of received emails, one email, and its HTML part.

Registered only outside production (like the sandbox), so there it is a 404. Public: the payer
of a browser test is not signed in, and on a developer's machine the mail is their own. The
messages are the files the local mail server writes (``dashboard.local.mail_server``) into
``MAILBOX_DIR``; a name is checked against the server's own pattern before any file is opened,
so no request can read outside that directory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, render_template
from flask.typing import ResponseReturnValue

from dashboard.web.permissions import public

bp = Blueprint("mailbox", __name__, url_prefix="/dev/mailbox")
# What the local mail server names a message: <nanoseconds>-<12 hex>.eml, nothing else.
MESSAGE_NAME = re.compile(r"\A[0-9]{20}-[0-9a-f]{12}\.eml\Z")
MAX_LISTED = 200
# The email's HTML, even opened on its own, runs no script and loads nothing; its links still
# open (in a new tab, or the whole tab on a click).
_HTML_PART_POLICY = (
    "sandbox allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation; "
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'"
)


@dataclass(frozen=True)
class ReceivedEmail:
    """One message of the mailbox, parsed."""

    name: str
    message: EmailMessage

    @property
    def headers(self) -> list[tuple[str, str]]:
        """Return every header, in order."""
        return [(key, str(value)) for key, value in self.message.items()]

    def header(self, name: str) -> str:
        """Return one header's value, or an empty string."""
        return str(self.message.get(name, ""))

    def part(self, subtype: str) -> str | None:
        """Return the text of the ``text/<subtype>`` part, if there is one."""
        body = self.message.get_body((subtype,))
        return body.get_content() if body is not None else None


def _mailbox() -> Path:
    return Path(current_app.extensions["settings"].mailbox_dir)


def _read(name: str) -> ReceivedEmail:
    if not MESSAGE_NAME.match(name):
        abort(404)
    path = _mailbox() / name
    if not path.is_file():
        abort(404)
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    return ReceivedEmail(name, message)


@bp.after_request
def never_stored(response: Response) -> Response:
    """Keep every Mailbox answer out of caches: the emails carry payers' secret links."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("")
@public
def mailbox_page() -> ResponseReturnValue:
    """List the received emails, newest first."""
    directory = _mailbox()
    names = (
        sorted((p.name for p in directory.iterdir() if MESSAGE_NAME.match(p.name)), reverse=True)[
            :MAX_LISTED
        ]
        if directory.is_dir()
        else []
    )
    emails = [_read(name) for name in names]
    return render_template("mailbox/index.html", emails=emails, directory=directory)


@bp.get("/<name>")
@public
def email_page(name: str) -> ResponseReturnValue:
    """Show one email: its headers, the text part, the HTML part in a sandboxed frame."""
    return render_template("mailbox/email.html", email=_read(name))


@bp.get("/<name>/html")
@public
def email_html(name: str) -> ResponseReturnValue:
    """Serve the email's HTML part alone, sandboxed: no script of it ever runs here."""
    html = _read(name).part("html")
    if html is None:
        abort(404)
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = _HTML_PART_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    # The Mailbox's own page frames it: the app's default forbids framing.
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response
