"""The domain: payments, orders, API keys, money and search terms; models and their rules."""
