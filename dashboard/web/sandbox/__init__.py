"""The sandbox provider's hosted payment page (development and tests only)."""
