"""The payer's public pages, reached only through the payment's unguessable token."""
