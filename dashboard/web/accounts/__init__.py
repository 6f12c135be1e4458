"""Blueprint: the account switcher."""
