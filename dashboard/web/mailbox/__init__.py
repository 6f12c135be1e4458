"""The Mailbox (development and tests only): every email the local mail server received."""
