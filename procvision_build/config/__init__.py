"""Stage 1, config: ``pyproject.toml`` ([project] + [tool.procvision]) -> one validated ``ProjectConfig``."""
