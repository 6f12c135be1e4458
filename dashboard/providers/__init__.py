"""Payment providers: the interface, TrueLayer and the development sandbox."""
