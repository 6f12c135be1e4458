"""DynamoDB access for the app: the client, the tables, the repositories (``database.Store``)."""
