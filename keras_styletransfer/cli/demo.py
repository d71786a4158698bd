"""`keras-styletransfer demo`: the README's main job on the embedded data.

keras-styletransfer demo [--run-dir saved_models/demo] [--epochs N] [--digits]
"""

from __future__ import annotations

import os

from keras_styletransfer.cli import train, train_style
from keras_styletransfer.cli.common import PROG, add_overwrite_argument, epochs_int, examples

# One paired multi-style model for the documents' styles: 12,000 steps at 1e-3 (pix2pix's best of
# 2e-4, 6e-4 and 1e-3; the multi-style model measured at 1e-3), about 8 minutes on 2 cores.
DEMO_STYLES = ("watercolour", "cartoon", "pencil", "ink", "oil")
DEMO_STYLE = dict(
    family="multistyle_paired",
    styles=DEMO_STYLES,
    epochs=120,
    steps_per_epoch=100,
    learning_rate=1e-3,
)
DIGITS_PRESET = "mnist_dcgan"


def add_command(commands):
    """Add the `demo` sub-command to the CLI's sub-parsers."""
    parser = commands.add_parser(
        "demo",
        help="the README's main job on the embedded data",
        epilog=examples(
            "demo", "demo --digits", "demo --epochs 10 --run-dir saved_models/quick_demo"
        ),
    )
    parser.add_argument("--run-dir", default=None, help="defaults to saved_models/demo")
    parser.add_argument("--epochs", type=epochs_int, default=None)
    add_overwrite_argument(
        parser, help="replace what another run left in --run-dir (a demo's own folder is re-run)"
    )
    parser.add_argument(
        "--digits",
        action="store_true",
        help=f"the digit GAN ({DIGITS_PRESET}) on the embedded real digits, then its sample "
        "quality (saved_models/demo_digits)",
    )
    parser.set_defaults(handler=run)
    return parser


def _overwrite(args, config, run_dir):
    """A finished demo in `run_dir` is trained again freely (an interrupted one resumes); any
    other run there only with --overwrite."""
    from keras_styletransfer.training.checks import is_finished_run_of

    return args.overwrite or is_finished_run_of(config, run_dir)


def run(args):
    """Train the demo (re-run freely: an interrupted demo resumes) and report."""
    from keras_styletransfer.config import TrainConfig, TranslationConfig

    if args.digits:
        print(
            f"{PROG} demo: the {DIGITS_PRESET} GAN on the embedded real digits, then the share "
            "of its samples a digit classifier recognises."
        )
        config = TrainConfig(preset=DIGITS_PRESET, epochs=args.epochs or 5, measure_quality=True)
        run_dir = args.run_dir or os.path.join("saved_models", "demo_digits")
        return train.train_and_report(config, run_dir, _overwrite(args, config, run_dir), args)
    print(
        f"{PROG} demo: one model learns five styles ({', '.join(DEMO_STYLES)}) from paired "
        "crops of real photographs shipped in scikit-image and scikit-learn, then is scored on "
        "four held-out photos (64-px crops, whole at 256 px, full size) against their exact "
        "stylisation."
    )
    values = dict(DEMO_STYLE)
    if args.epochs:
        values["epochs"] = args.epochs
    run_dir = args.run_dir or os.path.join("saved_models", "demo")
    config = TranslationConfig(**values)
    return train_style.train_and_report(config, run_dir, _overwrite(args, config, run_dir), args)
