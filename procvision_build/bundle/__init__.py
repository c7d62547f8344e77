"""Stage 5, the artifact: the offline bundle of one target (wheels, lock, manifest, assets, installer)."""
