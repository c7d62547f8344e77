"""Stage 4, fetch: parallel, hash-checked downloads of the chosen wheels into the store."""
