"""The merchant's settings: for now, the API keys other systems use to call the JSON API."""
