"""The landing page and the health check."""

from dashboard.main.routes import bp

__all__ = ["bp"]
