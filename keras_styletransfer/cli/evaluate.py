"""`keras-styletransfer evaluate`: a train-style model scored on the held-out offline photos.

    keras-styletransfer evaluate --model RUN/final.keras [--out metrics.json]

SSIM / PSNR against the exact stylisations, and a style judge's scores, FID and KID.
"""

from __future__ import annotations

import os

from keras_styletransfer.cli.common import (
    ProgressBar,
    add_overwrite_argument,
    examples,
    load_tensorflow,
)
from keras_styletransfer.cli.train_style import print_style_metrics
from keras_styletransfer.config import TRANSLATION_FAMILIES
from keras_styletransfer.errors import InputError


def add_command(commands):
    """Add the `evaluate` sub-command to the CLI's sub-parsers."""
    parser = commands.add_parser(
        "evaluate",
        help="SSIM / PSNR of a trained model on the held-out offline photos",
        epilog=examples(
            "evaluate --model saved_models/pix2pix_cartoon/final.keras --out metrics.json"
        ),
    )
    parser.add_argument("--model", required=True, help="final.keras of a train-style run")
    parser.add_argument("--out", default=None, help="JSON file to write (optional)")
    add_overwrite_argument(parser, help="replace an existing --out file")
    parser.set_defaults(handler=run)
    return parser


def _run_config(model_path):
    """The `TranslationConfig` saved beside `model_path`, checked to use the offline photos."""
    from keras_styletransfer.config import TranslationConfig

    if not os.path.isfile(model_path):
        raise InputError(f"model file {model_path!r} not found; pass final.keras of a run.")
    stored = os.path.join(os.path.dirname(os.path.abspath(model_path)), "config.json")
    if not os.path.isfile(stored):
        raise InputError(
            f"no config.json beside {model_path!r}; evaluate needs the run directory that "
            "train-style wrote (it names the styles and image size)."
        )
    try:
        config = TranslationConfig.load(stored)
    except (TypeError, ValueError) as error:
        raise InputError(f"{stored} is not a train-style configuration ({error}).") from None
    if config.data != "offline":
        raise InputError(
            f"evaluate measures against the exact stylisations of the offline held-out photos; "
            f"this run trained on {config.data!r}, which has no such ground truth. Use its "
            "results.png, or stylize your own test images."
        )
    return config


def run(args):
    """Score the model, print the scores, and write them to `--out` if given."""
    config = _run_config(args.model)
    if args.out:  # before the work, not after it
        from keras_styletransfer.files import check_output_file

        check_output_file(args.out, inputs=(args.model,), overwrite=args.overwrite)
    load_tensorflow(args)
    from keras_styletransfer.evaluation import evaluate_on_held_out, judge_on_held_out
    from keras_styletransfer.models.loading import require_wrapper
    from keras_styletransfer.training.translation import offline_style_set

    model = require_wrapper(args.model, "evaluate", families=TRANSLATION_FAMILIES)
    data = offline_style_set(config)
    with ProgressBar(2, "evaluate (held-out SSIM / PSNR, then the style judge)") as bar:
        metrics = {"family": config.family, "styles": evaluate_on_held_out(model, config, data)}
        bar.update(1)
        metrics["judge"] = judge_on_held_out(model, config, data)
        bar.update(1)
    print_style_metrics(metrics)
    for style, entry in metrics["judge"].items():
        for label in ("model", "baseline", "exact_style"):
            m = entry[label]
            print(
                f"  {style:12s} {label:11s} style score {m['style_score']:.3f}, judged "
                f"{style} {m['style_accuracy']:.0%}, FID {m['fid_judge_features']:.3g}, "
                f"KID {m['kid_judge_features']:.3g} (style-judge features)"
            )
    if args.out:
        from keras_styletransfer.files import write_json

        write_json(args.out, metrics)
        print(f"wrote {args.out}")
    return 0
