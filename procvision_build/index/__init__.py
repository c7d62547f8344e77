"""Where packages come from: pip's configuration, HTTP, and the simple-index client (pages, metadata, links)."""
