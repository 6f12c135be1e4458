"""Routes for Settings → Business (with the account's time zone) and the logos payers see.
They parse and render; the business service decides (``dashboard.services.business``).

Every member may read the business settings; Owners and Admins change them
(``Permission.MANAGE_SETTINGS``). A logo is public: payer pages show it. Its URL names the
image's digest, never the account, and is served with one fixed Content-Type and ``nosniff``.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required

from dashboard.core.clock import utc_now
from dashboard.core.errors import InvalidInput
from dashboard.domain.business import LOGO_CONTENT_TYPES, BusinessProfile
from dashboard.domain.permissions import Permission
from dashboard.services.business import BusinessService, LogoUpload, SettingsChangedMeanwhile
from dashboard.web.actor import current_actor
from dashboard.web.business.forms import BusinessForm, TimeZoneForm
from dashboard.web.permissions import public, requires

bp = Blueprint("business", __name__)

LOGO_CACHE = "public, max-age=31536000, immutable"  # a new image gets a new URL


def business_service() -> BusinessService:
    """Return the app's business service."""
    return current_app.extensions["business"]


def _page(
    form: BusinessForm,
    profile: BusinessProfile,
    status: int = 200,
    zone_form: TimeZoneForm | None = None,
) -> ResponseReturnValue:
    now = utc_now()
    if zone_form is None:
        zone_form = TimeZoneForm(formdata=None, time_zone=profile.time_zone, now=now)
    page = render_template(
        "settings/business.html", form=form, profile=profile, zone_form=zone_form, now_utc=now
    )
    return page, status, {"Cache-Control": "no-store"}


def _business_form(profile: BusinessProfile) -> BusinessForm:
    return BusinessForm(
        formdata=None,
        business_name=profile.name,
        support_email=profile.support_email or "",
        send_receipts=profile.send_receipts,
    )


def _profile() -> BusinessProfile:
    profile = business_service().profile(current_actor().account_id)
    if profile is None:
        abort(404)
    return profile


@bp.get("/settings/business")
@login_required
@requires(Permission.READ)
def business_page() -> ResponseReturnValue:
    """Show the business settings, as a form for Owners and Admins."""
    profile = _profile()
    return _page(_business_form(profile), profile)


@bp.post("/settings/business")
@login_required
@requires(Permission.MANAGE_SETTINGS)
def save_business() -> ResponseReturnValue:
    """Save the business settings, or show the form again, as typed, with what was wrong."""
    form = BusinessForm()
    if not form.validate():
        return _page(form, _profile(), 422)
    upload = form.logo.data
    content = upload.read() if upload and upload.filename else None
    try:
        business_service().update(
            current_actor(),
            form.business_name.data or "",
            form.support_email.data or "",
            LogoUpload(content=content, remove=bool(form.remove_logo.data)),
            send_receipts=bool(form.send_receipts.data),
        )
    except SettingsChangedMeanwhile as exc:
        flash(exc.message, "warning")
        return _page(form, _profile(), 409)
    except InvalidInput as exc:
        for name, message in exc.errors.items():
            form[name].errors = [message]
        return _page(form, _profile(), 422)
    flash("Business settings saved. Payers see them from now on.", "success")
    return redirect(url_for("business.business_page"), 303)


@bp.post("/settings/time-zone")
@login_required
@requires(Permission.MANAGE_SETTINGS)
def save_time_zone() -> ResponseReturnValue:
    """Save the account's time zone, or show the page again with what was wrong."""
    zone_form = TimeZoneForm(now=utc_now())
    profile = _profile()
    if not zone_form.validate():
        return _page(_business_form(profile), profile, 422, zone_form)
    try:
        saved = business_service().set_time_zone(current_actor(), zone_form.time_zone.data or "")
    except SettingsChangedMeanwhile as exc:
        flash(exc.message, "warning")
        return _page(_business_form(profile), profile, 409, zone_form)
    except InvalidInput as exc:
        zone_form.time_zone.errors = list(exc.errors.values())
        return _page(_business_form(profile), profile, 422, zone_form)
    flash(f"Time zone saved: times and days now read in {saved.time_zone}.", "success")
    return redirect(url_for("business.business_page"), 303)


@bp.get("/logos/<digest>.<ext>")
@public
def logo(digest: str, ext: str) -> ResponseReturnValue:
    """Serve a logo by its digest, as the image type its name says and nothing else."""
    if len(digest) != 64 or ext not in LOGO_CONTENT_TYPES:
        abort(404)
    found = business_service().logo(digest)
    if found is None or found.format != ext:
        abort(404)
    return (
        found.content,
        200,
        {
            "Content-Type": found.content_type,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": LOGO_CACHE,
            "Content-Disposition": "inline",
        },
    )
