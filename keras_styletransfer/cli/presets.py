"""`keras-styletransfer presets`: the named model configurations (no TensorFlow needed)."""

from __future__ import annotations

from keras_styletransfer.cli.common import examples


def add_command(commands):
    """Add the `presets` sub-command to the CLI's sub-parsers."""
    parser = commands.add_parser(
        "presets",
        help="list the named model configurations",
        epilog=examples("presets"),
    )
    parser.set_defaults(handler=run)
    return parser


def run(args):
    """Print one line per preset: its name and description."""
    from keras_styletransfer.models.presets import PRESETS

    for preset in PRESETS.values():
        print(f"{preset.name:18s} {preset.description}")
    return 0
