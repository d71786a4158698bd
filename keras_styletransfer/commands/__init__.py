"""CLI sub-commands kept in their own modules (each: `add_command(commands)`); see cli.py."""
