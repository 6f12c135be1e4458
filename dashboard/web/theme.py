"""The colour theme: the device's (light or dark, as the browser prefers), or one chosen.

The choice is a cookie the header's **Theme** button sets with a plain POST, so it works without
JavaScript and the page is drawn in the chosen theme from its first byte (no flash of the
other). "Auto" sets no ``data-theme``: Pico CSS and our styles then follow
``prefers-color-scheme``.
"""

from __future__ import annotations

from enum import StrEnum
from urllib.parse import urlencode

from flask import Flask, Request, request

THEME_COOKIE = "theme"
THEME_COOKIE_MAX_AGE = 365 * 24 * 3600


class Theme(StrEnum):
    """What the person chose."""

    AUTO = "auto"
    LIGHT = "light"
    DARK = "dark"

    @property
    def label(self) -> str:
        """Return the choice as the header's button names it."""
        return {"auto": "Auto", "light": "Light", "dark": "Dark"}[self.value]

    @property
    def next(self) -> Theme:
        """Return the choice the button offers next: auto → dark → light → auto."""
        return {Theme.AUTO: Theme.DARK, Theme.DARK: Theme.LIGHT, Theme.LIGHT: Theme.AUTO}[self]


def theme_of(incoming: Request) -> Theme:
    """Return the theme the request's cookie names (auto when none or unknown)."""
    try:
        return Theme(incoming.cookies.get(THEME_COOKIE, Theme.AUTO.value))
    except ValueError:
        return Theme.AUTO


def return_path(incoming: Request) -> str:
    """Return where the Theme button comes back to: this page, with its query (filters kept).

    Only for a GET (a POST's page cannot be asked for again), and without a ``next`` argument:
    the form never echoes a return address somebody else put in the link.
    """
    if incoming.method != "GET":
        return ""
    query = urlencode([(k, v) for k, v in incoming.args.items(multi=True) if k != "next"])
    return incoming.path + (f"?{query}" if query else "")


def init_app(app: Flask) -> None:
    """Give templates the chosen theme and where its button returns to."""

    @app.context_processor
    def theme_context() -> dict[str, object]:
        return {"theme": theme_of(request), "theme_return_path": return_path}
