"""Settings → Audit log: who changed what in the account, filtered, paged and exported as CSV."""
