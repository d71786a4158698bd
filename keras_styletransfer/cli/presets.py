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
    """Print one line per preset: its name and description; noise GANs (`train --preset`),
    then image-to-image models by family (`train-style --family F --preset NAME`)."""
    from keras_styletransfer.models.presets import FAMILY_DEFAULTS, PRESETS, TRANSLATION_PRESETS

    for preset in PRESETS.values():
        print(f"{preset.name:18s} {preset.description}")
    print("image-to-image (train-style --family FAMILY [--preset NAME]; * the default):")
    for preset in TRANSLATION_PRESETS.values():
        mark = "*" if FAMILY_DEFAULTS.get(preset.family) == preset.name else " "
        print(f"{preset.name + mark:19s} [{preset.family}] {preset.description}")
    return 0
