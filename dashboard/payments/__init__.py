"""The merchant's payments: list, create, detail and actions."""

from dashboard.payments.routes import bp

__all__ = ["bp"]
