"""The project's own artifacts, made from its config alone: wheel, sdist, editable wheel, manifest, metadata."""
