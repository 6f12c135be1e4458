"""The merchant's settings: for now, the API keys other systems use to call the JSON API."""

from dashboard.settings.routes import bp

__all__ = ["bp"]
