"""Use cases: what the web, the API and the commands ask for, in the merchant's words."""
