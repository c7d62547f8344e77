"""``pylock.toml`` and the plan that uses it: lock every target, or give one target's wheels from the lock."""
