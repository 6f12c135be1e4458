"""Routes that anyone may call: the landing page and ``/health``."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from dashboard.store.dynamo import StoreUnavailable
from dashboard.web.auth.routes import safe_next_url
from dashboard.web.permissions import public
from dashboard.web.theme import THEME_COOKIE, THEME_COOKIE_MAX_AGE, Theme

bp = Blueprint("main", __name__)


@bp.get("/")
@public
def landing() -> ResponseReturnValue:
    """Show the landing page, or go straight to the payments of a signed-in merchant."""
    if current_user.is_authenticated:
        return redirect(url_for("payments.list_payments"))
    return render_template("main/landing.html")


@bp.get("/health")
@public
def health() -> ResponseReturnValue:
    """Report the app's version and whether DynamoDB and the tables are there (200 or 503)."""
    store = current_app.extensions["store"]
    body = {"app": "ok", "version": current_app.config["APP_VERSION"]}
    try:
        store.check_tables()
    except StoreUnavailable as exc:
        # The reason may name internal endpoints: it goes to the log, not to the public.
        current_app.logger.warning("Health check: DynamoDB unavailable: %s", exc)
        body.update(status="unavailable", dynamodb="unavailable")
        return body, 503
    body.update(status="ok", dynamodb="ok")
    return body


@bp.post("/theme")
@public  # a display preference, kept in a cookie; signed in or not
def choose_theme() -> ResponseReturnValue:
    """Remember the colour theme chosen (auto, light or dark) and go back to the page."""
    try:
        theme = Theme(request.form.get("theme", ""))
    except ValueError:
        theme = Theme.AUTO
    response = redirect(safe_next_url(request.form.get("next")), 303)
    response.set_cookie(
        THEME_COOKIE,
        theme.value,
        max_age=THEME_COOKIE_MAX_AGE,
        secure=request.is_secure,
        httponly=True,
        samesite="Lax",
    )
    return response
