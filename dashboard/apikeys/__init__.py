"""API keys: merchants create, name and revoke them; the JSON API authenticates with them.

``model`` holds what a key is, ``service`` the use cases (``ApiKeyService``). Nothing is
re-exported here, so that the store can import the model without importing the service.
"""
