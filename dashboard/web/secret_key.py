"""The app's secret key, as the signed hidden form fields need it."""

from __future__ import annotations

from flask import current_app


def secret_key() -> str | bytes:
    """Return this app's secret key (the settings require one: create_app sets it)."""
    key = current_app.secret_key
    assert key is not None, "create_app sets SECRET_KEY from the settings"
    return key
