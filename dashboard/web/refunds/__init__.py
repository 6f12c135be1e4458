"""Refunds from the payment page: the refund form, asking for a refund, retrying one."""
