"""The tool that runs on the factory PC: standard library only, copied into every bundle and install root."""
