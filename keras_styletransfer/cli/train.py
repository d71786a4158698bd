"""`keras-styletransfer train`: train a noise GAN preset with `model.fit`.

keras-styletransfer train --preset mnist_dcgan --epochs 5 [--run-dir DIR] [--data SOURCE]
"""

from __future__ import annotations

import os
import time

from keras_styletransfer.cli.common import (
    add_run_arguments,
    examples,
    keras_verbose,
    positive_int,
    print_resumed,
    run_fields,
    start_run,
)


def add_command(commands):
    """Add the `train` sub-command to the CLI's sub-parsers."""
    parser = commands.add_parser(
        "train",
        help="train a GAN preset with model.fit",
        epilog=examples(
            "train --preset mnist_dcgan --epochs 5 --quality",
            "train --preset mlp_gan --data my_digits/ --run-dir saved_models/mine",
            "train --preset mnist_dcgan --strategy mirrored --batch-size 128",
        ),
    )
    parser.add_argument("--preset", required=True, help="a name from `presets`")
    add_run_arguments(
        parser,
        epochs=5,
        steps_per_epoch=None,
        batch_size=None,
        data_help="'offline' (embedded data), an image folder, a .npy/.npz file, or tfds:NAME",
        run_dir_help="defaults to saved_models/<preset>",
        overwrite_help="train again in a run directory that holds a finished run",
    )
    parser.add_argument(
        "--convert-channels",
        action="store_true",
        help="convert folder images to the model's channel count",
    )
    parser.add_argument("--samples-every", type=positive_int, default=1)
    parser.add_argument(
        "--quality",
        action="store_true",
        help="score samples with a digit classifier after training (digit presets)",
    )
    parser.set_defaults(handler=run)
    return parser


def run(args):
    """Check the configuration and the run directory, then train and report."""
    from keras_styletransfer.config import TrainConfig

    config = TrainConfig(
        preset=args.preset,
        samples_every=args.samples_every,
        convert_channels=args.convert_channels,
        measure_quality=args.quality,
        **run_fields(args),
    )
    return train_and_report(config, args.run_dir, args.overwrite, args)


def train_and_report(config, run_dir, overwrite, args=None):
    """Check `config` and `run_dir` (before TensorFlow loads), train, print where things went."""
    from keras_styletransfer.training.checks import validate_config

    validate_config(config)
    run_dir = run_dir or os.path.join("saved_models", config.preset)
    start_run(config, run_dir, overwrite, args)
    from keras_styletransfer.training.noise import train

    started = time.time()
    result = train(config, run_dir, verbose=keras_verbose())
    minutes = (time.time() - started) / 60
    print_resumed(result, run_dir)
    print(f"\ntrained in {minutes:.1f} min. Outputs in {run_dir}:")
    print(f"  model:        {result.final_model}")
    print(f"  samples:      {os.path.join(run_dir, 'samples')} ({len(result.samples)} grids)")
    print(f"  TensorBoard:  tensorboard --logdir {os.path.join(run_dir, 'logs')}")
    print(f"  checkpoint:   {os.path.join(run_dir, 'checkpoints', 'last.keras')}")
    if result.quality:
        generated = result.quality["generated"]
        real = result.quality["real_test_digits"]["recognisable_fraction"]
        print(
            f"  quality:      {generated['recognisable_fraction']:.1%} of samples recognisable "
            f"(classifier confidence > {generated['confidence']}), "
            f"{generated['classes_covered']}/10 digits covered (real held-out digits: "
            f"{real:.1%}); see {os.path.join(run_dir, 'quality.json')}"
        )
    return 0
