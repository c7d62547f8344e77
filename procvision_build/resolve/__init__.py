"""Stage 2 and 3, targets and resolution: each target's markers and tags, local sources, the resolver."""
