"""Subcommands beyond `run`, each registered with `bot.cli.command`."""
