"""``flask --app app ...`` commands: thin wrappers that call a service and print what it did."""
