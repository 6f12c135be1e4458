"""The merchant's payments: list, create, detail and actions."""
