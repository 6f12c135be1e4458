"""Development-only launchers for the local services (never imported by the app)."""
