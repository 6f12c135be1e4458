"""Sign-in with OpenID Connect (Auth0 in production, the local provider in development)."""
