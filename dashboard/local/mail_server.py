"""The local mail server of development and tests: aiosmtpd keeping every message on disk.

``make run`` and the test session start one on 127.0.0.1 and point ``SMTP_URL`` at it. Each
message is written whole (a temporary file, then ``os.replace``) as ``<time>-<id>.eml`` into
the mailbox directory, so a reader (the Mailbox page) never sees half a message. Nothing is
ever relayed anywhere. aiosmtpd is a development dependency: only ``dashboard.local`` and the
tests import this module.
"""

from __future__ import annotations

import os
import secrets
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session

from dashboard.local.services import LocalServiceError, port_is_free

MAILBOX_SUFFIX = ".eml"


class MailboxHandler:
    """aiosmtpd handler: accepts every message and stores it in ``directory``."""

    def __init__(self, directory: Path):
        self.directory = directory

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        """Store the message; answer 250 once it is on disk."""
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode("utf-8")
        store_message(self.directory, content)
        return "250 Message accepted for delivery"


def store_message(directory: Path, content: bytes) -> Path:
    """Write one message atomically as ``<time>-<id>.eml``; return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    # Nanoseconds first: names sort in arrival order; the random id keeps two apart.
    name = f"{time.time_ns():020d}-{secrets.token_hex(6)}{MAILBOX_SUFFIX}"
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".incoming-")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(content)
        os.replace(temporary, directory / name)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return directory / name


@dataclass
class MailServer:
    """A running local SMTP server; ``url`` is what SMTP_URL should say."""

    controller: Controller
    port: int
    directory: Path

    @property
    def url(self) -> str:
        """Return the SMTP_URL of this server (plain SMTP on loopback, no credentials)."""
        return f"smtp://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Stop listening; the messages stay on disk."""
        self.controller.stop()


def start_mail_server(port: int, directory: Path) -> MailServer:
    """Start the local SMTP server on ``127.0.0.1:port``, storing messages in ``directory``."""
    if not port_is_free(port):
        raise LocalServiceError(f"Port {port} is taken, so the local mail server cannot start.")
    directory.mkdir(parents=True, exist_ok=True)
    controller = Controller(MailboxHandler(directory), hostname="127.0.0.1", port=port)
    controller.start()
    return MailServer(controller, port, directory)
