"""Provider webhooks: TrueLayer tells us what happened to links and payments."""
