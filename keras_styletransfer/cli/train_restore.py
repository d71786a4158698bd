"""`keras-styletransfer train-restore`: one conditional generator G(x, task) for restoration.

    keras-styletransfer train-restore --tasks colourise,denoise,sr2,deblur [--epochs 40] \\
        [--run-dir DIR]

A `train-style` run of the multistyle_paired family on `--data restoration`: the styles are the
restoration tasks (`data.restoration`), the pairs the offline photos' crops degraded exactly
and their clean originals. Started again on the same run folder it resumes, as `train-style`.
"""

from __future__ import annotations

import os

from keras_styletransfer.cli.common import (
    add_run_arguments,
    examples,
    learning_rate,
    positive_int,
    print_resumed,
    run_fields,
    start_run,
)

RUN_OUTPUTS = (
    "final.keras",
    "generator.keras",
    "results.png",
    "loss_curves.png",
    "exported",
    "metrics.json",
)


def add_command(commands):
    """Add the `train-restore` sub-command to the CLI's sub-parsers."""
    parser = commands.add_parser(
        "train-restore",
        help="train one model for several restoration tasks (colourise, denoise, sr2, sr4, "
        "deblur) on degraded offline photos",
        epilog=examples(
            "train-restore --tasks colourise,denoise,sr2,deblur",
            "train-restore --tasks denoise --epochs 1 --steps-per-epoch 50 "
            "--run-dir saved_models/denoise",
            "restore --task denoise --model saved_models/denoise/final.keras photo.jpg",
        ),
    )
    parser.add_argument(
        "--tasks",
        default="colourise,denoise,sr2,deblur",
        help="comma-separated: colourise, denoise, sr2, sr4, deblur (default "
        "colourise,denoise,sr2,deblur)",
    )
    add_run_arguments(
        parser,
        epochs=40,
        steps_per_epoch=100,
        batch_size=16,
        data_help="'restoration' (the offline photos degraded per task; the only source)",
        run_dir_help="defaults to saved_models/restore_<tasks>",
    )
    parser.set_defaults(data="restoration")
    parser.add_argument("--image-size", type=positive_int, default=64)
    parser.add_argument("--filters", type=positive_int, default=32)
    parser.add_argument(
        "--learning-rate",
        type=learning_rate,
        default=1e-3,
        help="Adam's learning rate for G and D (default 1e-3: the residual generator starts "
        "as the identity and learns slowly at pix2pix's 2e-4)",
    )
    parser.set_defaults(handler=run)
    return parser


def run(args):
    """Build the configuration, check it and the run folder, train, report."""
    from keras_styletransfer.config import TranslationConfig
    from keras_styletransfer.data.restoration import task_names
    from keras_styletransfer.errors import InputError
    from keras_styletransfer.training.checks import RESTORATION_DATA, validate_translation_config

    if args.data != RESTORATION_DATA:
        raise InputError(
            f"train-restore trains on --data {RESTORATION_DATA} only (the offline photos, "
            f"degraded per task); received {args.data!r}."
        )
    tasks = task_names(args.tasks)
    config = TranslationConfig(
        family="multistyle_paired",
        styles=tasks,
        image_size=args.image_size,
        filters=args.filters,
        learning_rate=args.learning_rate,
        **run_fields(args),
    )
    validate_translation_config(config)
    run_dir = args.run_dir or os.path.join("saved_models", "restore_" + "_".join(tasks))
    start_run(config, run_dir, args.overwrite, args)
    from keras_styletransfer.training.translation import train_translation

    result = train_translation(config, run_dir)
    print_resumed(result, run_dir)
    print(f"\ntrained in {result.seconds / 60:.1f} min. Outputs in {run_dir}:")
    for name in RUN_OUTPUTS:
        path = os.path.join(run_dir, name)
        if os.path.exists(path):
            print(f"  {path}")
    print_restoration_metrics(result.metrics)
    return 0


def print_restoration_metrics(metrics):
    """One line per task and held-out view: PSNR / SSIM of the model, the degraded input and
    the classical baselines."""
    for task, views in metrics["tasks"].items():
        for view, scores in views.items():
            label = "crops" if view == "crops" else f"{view} px"
            parts = [
                f"{method} {s['psnr']:.2f} dB / {s['ssim']:.3f}"
                for method, s in scores.items()
                if isinstance(s, dict) and "psnr" in s
            ]
            print(f"  {task:10s} {label:8s} " + ", ".join(parts))
