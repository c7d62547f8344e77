"""One module per ``procvision`` subcommand."""
