"""The `keras-styletransfer` command.

    keras-styletransfer presets
    keras-styletransfer train --preset doc002_mnist --epochs 5 [--run-dir DIR] [--data SOURCE]
    keras-styletransfer sample --model DIR/final.keras --out grid.png [--num 64]
    keras-styletransfer demo [--run-dir saved_models/demo]

Bad input is reported as one line on stderr (exit status 2), never a traceback; `--debug` shows it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from keras_styletransfer.config import TrainConfig, check_run_dir, validate_config
from keras_styletransfer.errors import InputError

PROG = "keras-styletransfer"


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def build_parser():
    parser = argparse.ArgumentParser(
        prog=PROG, description="Train, explain and serve image style-transfer GANs with Keras 3."
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("presets", help="list the named model configurations")

    train = commands.add_parser("train", help="train a GAN preset with model.fit")
    train.add_argument("--preset", required=True, help="a name from `presets`")
    train.add_argument("--epochs", type=_positive_int, default=5)
    train.add_argument("--batch-size", type=_positive_int, default=None)
    train.add_argument("--steps-per-epoch", type=_positive_int, default=None)
    train.add_argument(
        "--data",
        default="offline",
        help="'offline' (embedded data), an image folder, a .npy/.npz file, or tfds:NAME",
    )
    train.add_argument("--tfds-data-dir", default="", help="where prepared TFDS data lives")
    train.add_argument(
        "--convert-channels",
        action="store_true",
        help="convert folder images to the model's channel count",
    )
    train.add_argument("--run-dir", default=None, help="defaults to saved_models/<preset>")
    train.add_argument(
        "--overwrite",
        action="store_true",
        help="train again in a run directory that holds a finished run",
    )
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--samples-every", type=_positive_int, default=1)
    train.add_argument(
        "--quality",
        action="store_true",
        help="score samples with a digit classifier after training (digit presets)",
    )

    sample = commands.add_parser("sample", help="write a grid of samples from a trained GAN")
    sample.add_argument("--model", required=True, help="a .keras file written by `train`")
    sample.add_argument("--out", required=True, help="PNG file to write")
    sample.add_argument("--num", type=_positive_int, default=64)
    sample.add_argument("--seed", type=int, default=0)

    demo = commands.add_parser("demo", help="the README's main job on the embedded data")
    demo.add_argument("--run-dir", default=os.path.join("saved_models", "demo"))
    demo.add_argument("--epochs", type=_positive_int, default=5)
    return parser


def _train(args, preset_name=None, measure_quality=None, overwrite=None):
    config = TrainConfig(
        preset=preset_name or args.preset,
        epochs=args.epochs,
        batch_size=getattr(args, "batch_size", None) or 0,
        steps_per_epoch=getattr(args, "steps_per_epoch", None) or 0,
        data=getattr(args, "data", "offline"),
        tfds_data_dir=getattr(args, "tfds_data_dir", ""),
        seed=getattr(args, "seed", 0),
        samples_every=getattr(args, "samples_every", 1),
        convert_channels=getattr(args, "convert_channels", False),
        measure_quality=getattr(args, "quality", False)
        if measure_quality is None
        else measure_quality,
    )
    validate_config(config)  # fail fast, before TensorFlow loads
    run_dir = args.run_dir or os.path.join("saved_models", config.preset)
    check_run_dir(
        config, run_dir, getattr(args, "overwrite", False) if overwrite is None else overwrite
    )
    print(f"{PROG}: run directory {run_dir}\n{config.to_json()}", flush=True)

    from keras_styletransfer.training import train

    started = time.time()
    result = train(config, run_dir)
    minutes = (time.time() - started) / 60
    if result.initial_epoch:
        print(f"resumed from epoch {result.initial_epoch} (backup in {run_dir}/backup)")
    print(f"\ntrained in {minutes:.1f} min. Outputs in {run_dir}:")
    print(f"  model:        {result.final_model}")
    print(f"  samples:      {os.path.join(run_dir, 'samples')} ({len(result.samples)} grids)")
    print(f"  TensorBoard:  tensorboard --logdir {os.path.join(run_dir, 'logs')}")
    print(f"  checkpoint:   {os.path.join(run_dir, 'checkpoints', 'last.keras')}")
    if result.quality:
        generated = result.quality["generated"]
        print(
            f"  quality:      {generated['recognisable_fraction']:.1%} of samples recognisable "
            f"(classifier confidence > {generated['confidence']}), "
            f"{generated['classes_covered']}/10 digits covered "
            f"(real held-out digits: "
            f"{result.quality['real_test_digits']['recognisable_fraction']:.1%}); "
            f"see {os.path.join(run_dir, 'quality.json')}"
        )
    return 0


def _sample(args):
    if not os.path.isfile(args.model):
        raise InputError(f"model file {args.model!r} not found; pass a .keras file from `train`.")
    if not args.out.lower().endswith(".png"):
        raise InputError(f"--out must name a .png file; received {args.out!r}.")
    import keras
    import numpy as np

    from keras_styletransfer.images import save_image_grid
    from keras_styletransfer.models.gan import GAN

    try:
        model = keras.saving.load_model(args.model)
    except Exception as error:
        raise InputError(f"cannot load {args.model!r} as a Keras model: {error}") from None
    if not isinstance(model, GAN):
        raise InputError(f"{args.model!r} holds a {type(model).__name__}, not a GAN.")
    noise = np.random.default_rng(args.seed).standard_normal((args.num, model.latent_dim))
    images = model.generator.predict(noise.astype("float32"), verbose=0)
    print(save_image_grid(images, args.out))
    return 0


def _demo(args):
    print(f"{PROG} demo: document 002's MNIST GAN on the embedded real digits, then quality.")
    # The demo is re-run freely: a finished demo run is replaced, an interrupted one resumed.
    return _train(args, preset_name="doc002_mnist", measure_quality=True, overwrite=True)


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "presets":
            from keras_styletransfer.models.presets import PRESETS

            for preset in PRESETS.values():
                print(f"{preset.name:18s} {preset.description}")
            return 0
        if args.command == "train":
            return _train(args)
        if args.command == "sample":
            return _sample(args)
        if args.command == "demo":
            return _demo(args)
    except InputError as error:
        if args.debug:
            raise
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; run the same command again to resume.", file=sys.stderr)
        return 130
    except Exception as error:
        from keras_styletransfer.callbacks import NonFiniteLossError

        if isinstance(error, NonFiniteLossError) and not args.debug:
            print(f"{PROG}: error: {error}", file=sys.stderr)
            return 3
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
