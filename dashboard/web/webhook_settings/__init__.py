"""Settings → Webhooks: the merchant's webhook endpoints, their secrets and delivery logs."""
