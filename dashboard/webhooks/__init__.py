"""Provider webhooks: TrueLayer tells us what happened to links and payments."""

from dashboard.webhooks.routes import bp

__all__ = ["bp"]
