"""Business settings: what payers are told of the merchant, changed by Owners and Admins.

A logo is accepted only as a PNG or JPEG of at most 100 KB and 512 × 512 pixels, and is stored
as Pillow re-encodes it (no metadata, no second image hidden after the first): what the app
serves is always an image it made itself, whatever the upload carried.
"""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from PIL import Image, UnidentifiedImageError

from dashboard.core.clock import utc_now
from dashboard.core.errors import Conflict, InvalidInput, NotFound
from dashboard.domain.actor import Actor
from dashboard.domain.audit import AuditAction
from dashboard.domain.business import (
    BUSINESS_NAME_MAX_LENGTH,
    LOGO_MAX_BYTES,
    LOGO_MAX_PIXELS,
    SUPPORT_EMAIL_MAX_LENGTH,
    BusinessProfile,
    InvalidLogo,
    Logo,
    LogoRef,
)
from dashboard.domain.permissions import NotPermitted, Permission, can
from dashboard.domain.timezones import is_offered
from dashboard.services.team_entries import audit_entry
from dashboard.store.accounts import AccountRepository, member_sk
from dashboard.store.business import BusinessRepository, StoredProfile
from dashboard.store.dynamo import ConditionFailed
from dashboard.store.payments import PaymentRepository, link_lookup_key

# Pillow's names of the formats taken, and what each is stored as.
_ACCEPTED_FORMATS = {"PNG": "png", "JPEG": "jpeg"}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AccountNotFound(NotFound):
    """Raised when the account of a business profile does not exist."""

    title = "Account not found"
    message = "This account does not exist."


class SettingsChangedMeanwhile(Conflict):
    """Raised when someone else changed the business settings since the form was shown."""

    title = "Settings changed meanwhile"
    message = "Someone else changed these settings meanwhile. Check them and save again."


@dataclass(frozen=True)
class LogoUpload:
    """What the merchant chose for the logo: keep it, remove it, or a new file's bytes."""

    content: bytes | None = None
    remove: bool = False


def clean_business_name(name: str) -> str:
    """Return the name as stored (spaces folded), or raise InvalidInput saying what is wrong."""
    cleaned = " ".join(name.split())
    if not cleaned:
        raise InvalidInput({"business_name": "Enter the name payers know your business by."})
    if len(cleaned) > BUSINESS_NAME_MAX_LENGTH:
        raise InvalidInput({"business_name": f"Use at most {BUSINESS_NAME_MAX_LENGTH} characters."})
    return cleaned


def clean_support_email(email: str) -> str | None:
    """Return the address as stored (None for none), or raise InvalidInput."""
    cleaned = email.strip()
    if not cleaned:
        return None
    if len(cleaned) > SUPPORT_EMAIL_MAX_LENGTH or not _EMAIL.match(cleaned):
        raise InvalidInput({"support_email": "Enter an email address like help@example.com."})
    return cleaned


def reencode_logo(content: bytes) -> Logo:
    """Return the upload re-encoded in its own format, or raise InvalidLogo saying why."""
    if len(content) > LOGO_MAX_BYTES:
        raise InvalidLogo({"logo": "The logo is larger than 100 KB. Upload a smaller file."})
    try:
        with Image.open(io.BytesIO(content), formats=list(_ACCEPTED_FORMATS)) as image:
            image_format = _ACCEPTED_FORMATS[image.format or ""]
            if max(image.size) > LOGO_MAX_PIXELS:
                raise InvalidLogo(
                    {
                        "logo": f"The logo is {image.width} × {image.height} pixels: use at most "
                        f"{LOGO_MAX_PIXELS} × {LOGO_MAX_PIXELS}."
                    }
                )
            image.load()
            pixels = image.convert("RGBA" if image_format == "png" else "RGB")
    except (UnidentifiedImageError, OSError, KeyError, Image.DecompressionBombError):
        raise InvalidLogo(
            {"logo": "Upload a PNG or JPEG image (SVG, GIF and others are not accepted)."}
        ) from None
    out = io.BytesIO()
    if image_format == "png":
        pixels.save(out, format="PNG", optimize=True)
    else:
        pixels.save(out, format="JPEG", quality=90)
    encoded = out.getvalue()
    if len(encoded) > LOGO_MAX_BYTES:
        raise InvalidLogo({"logo": "The logo is larger than 100 KB. Upload a smaller file."})
    return Logo(encoded, image_format)


class BusinessService:
    """The business settings of one account at a time, and what payer pages show of them."""

    def __init__(
        self,
        business: BusinessRepository,
        accounts: AccountRepository,
        payments: PaymentRepository,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._business = business
        self._accounts = accounts
        self._payments = payments
        self.clock = clock

    def profile(self, account_id: str) -> BusinessProfile | None:
        """Return the account's business profile, or None when there is no such account."""
        stored = self._business.get_profile(account_id)
        return stored.profile if stored else None

    def profile_for_link(self, provider: str, provider_link_id: str) -> BusinessProfile | None:
        """Return the profile of the account whose payment has this provider link, or None."""
        owner = self._payments.find_owner(link_lookup_key(provider, provider_link_id))
        return self.profile(owner.user_id) if owner else None

    def logo(self, digest: str) -> Logo | None:
        """Return the logo served under ``digest``, or None."""
        return self._business.logo_by_digest(digest)

    def update(
        self,
        actor: Actor,
        name: str,
        support_email: str,
        upload: LogoUpload,
        send_receipts: bool | None = None,
    ) -> BusinessProfile:
        """Change the business settings, with their audit entry in the same transaction.

        ``send_receipts`` None keeps the setting as it is. Raise InvalidInput (InvalidLogo) for
        a value the rules refuse, SettingsChangedMeanwhile when another change landed first.
        The name also becomes the members' copy of it, so the header's account switcher says it.
        """
        if not can(actor, Permission.MANAGE_SETTINGS):
            raise NotPermitted(actor, Permission.MANAGE_SETTINGS)
        cleaned_name, cleaned_email, new_logo = _check_all(name, support_email, upload)
        stored = self._business.get_profile(actor.account_id)
        if stored is None:
            raise AccountNotFound()
        before = stored.profile
        if new_logo is not None:
            logo_ref: LogoRef | None = LogoRef(new_logo.digest(actor.account_id), new_logo.format)
        else:
            logo_ref = None if upload.remove else before.logo
        receipts = before.send_receipts if send_receipts is None else send_receipts
        after = BusinessProfile(cleaned_name, cleaned_email, logo_ref, before.time_zone, receipts)
        return self._save(actor, stored, after, new_logo)

    def set_time_zone(self, actor: Actor, time_zone: str) -> BusinessProfile:
        """Change the zone the account's times and days are shown in, audited.

        Raise InvalidInput for a zone not offered (``dashboard.domain.timezones``),
        SettingsChangedMeanwhile when another change landed first. Nothing stored is re-bucketed:
        rollups are per UTC hour, and a local day is read as the sum of its hours.
        """
        if not can(actor, Permission.MANAGE_SETTINGS):
            raise NotPermitted(actor, Permission.MANAGE_SETTINGS)
        if not is_offered(time_zone):
            raise InvalidInput({"time_zone": "Choose a time zone from the list."})
        stored = self._business.get_profile(actor.account_id)
        if stored is None:
            raise AccountNotFound()
        after = dataclasses.replace(stored.profile, time_zone=time_zone)
        return self._save(actor, stored, after, None)

    def _save(
        self, actor: Actor, stored: StoredProfile, after: BusinessProfile, new_logo: Logo | None
    ) -> BusinessProfile:
        """Write ``after`` with its audit entry, unless nothing changed; return it."""
        before = stored.profile
        if after == before:
            return before
        members = self._accounts.members_of(actor.account_id)
        you = next((m for m in members if m.person == actor.person), None)
        changed = _changed(before.summary(), after.summary())
        entry = audit_entry(
            self.clock(),
            actor,
            you,
            AuditAction.SETTINGS_CHANGED,
            "account",
            actor.account_id,
            before={k: before.summary()[k] for k in changed},
            after={k: after.summary()[k] for k in changed},
        )
        try:
            self._business.save(
                actor.account_id,
                stored,
                after,
                new_logo,
                [member_sk(m.person) for m in members],
                entry,
            )
        except ConditionFailed as exc:
            raise SettingsChangedMeanwhile() from exc
        return after


def _check_all(
    name: str, support_email: str, upload: LogoUpload
) -> tuple[str, str | None, Logo | None]:
    """Return the cleaned name, email and re-encoded logo, or raise one InvalidInput for all."""
    errors: dict[str, str] = {}
    cleaned_name, cleaned_email, logo = "", None, None
    try:
        cleaned_name = clean_business_name(name)
    except InvalidInput as exc:
        errors.update(exc.errors)
    try:
        cleaned_email = clean_support_email(support_email)
    except InvalidInput as exc:
        errors.update(exc.errors)
    try:
        logo = reencode_logo(upload.content) if upload.content else None
    except InvalidInput as exc:
        errors.update(exc.errors)
    if errors:
        raise InvalidInput(errors)
    return cleaned_name, cleaned_email, logo


def _changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return [key for key in after if before.get(key) != after[key]]
