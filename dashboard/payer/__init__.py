"""The payer's public pages, reached only through the payment's unguessable token."""

from dashboard.payer.routes import bp

__all__ = ["bp"]
