"""What the payer is told of the merchant: the business name, a support email and a logo.

The account's settings (Settings → Business). The logo is stored as the app re-encoded it
(``dashboard.services.business``), and served from ``/logos/<digest>.<ext>``: the digest is the
SHA-256 of the account id and the bytes, so the URL names neither the account nor another
account's identical image, and changes whenever the image does (it is cached for a year).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from dashboard.core.errors import InvalidInput
from dashboard.domain.timezones import DEFAULT_ZONE

BUSINESS_NAME_MAX_LENGTH = 80
SUPPORT_EMAIL_MAX_LENGTH = 254
LOGO_MAX_BYTES = 100 * 1024
LOGO_MAX_PIXELS = 512  # on each side
LOGO_CONTENT_TYPES = {"png": "image/png", "jpeg": "image/jpeg"}  # the extension's fixed type


class InvalidLogo(InvalidInput):
    """Raised for an upload that is not a PNG or JPEG the app will show."""

    title = "Logo not accepted"
    message = "The logo must be a PNG or JPEG image of at most 100 KB and 512 × 512 pixels."


@dataclass(frozen=True)
class Logo:
    """A logo as stored and served: the re-encoded bytes and their format (``png``, ``jpeg``)."""

    content: bytes
    format: str

    @property
    def content_type(self) -> str:
        """Return the one Content-Type this logo is served with."""
        return LOGO_CONTENT_TYPES[self.format]

    def digest(self, account_id: str) -> str:
        """Return the logo's name in its URL: SHA-256 of the account id and the bytes."""
        return hashlib.sha256(account_id.encode() + b"\0" + self.content).hexdigest()


@dataclass(frozen=True)
class LogoRef:
    """Where an account's logo is served from: its digest and format (the URL's two parts)."""

    digest: str
    format: str


@dataclass(frozen=True)
class BusinessProfile:
    """The merchant as payers see them, and the time zone its team reads times in."""

    name: str
    support_email: str | None = None
    logo: LogoRef | None = None
    time_zone: str = DEFAULT_ZONE
    send_receipts: bool = True  # email the payer a receipt when a payment completes

    def summary(self) -> dict[str, str]:
        """Return what the audit log records of the profile (the logo by its digest)."""
        return {
            "business name": self.name,
            "support email": self.support_email or "",
            "logo": self.logo.digest[:12] if self.logo else "",
            "time zone": self.time_zone,
            "receipts to payers": "on" if self.send_receipts else "off",
        }
