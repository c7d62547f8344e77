"""The user's cache: a content-addressed wheel store, METADATA and HTTP pages; hash-checked writes into it."""
