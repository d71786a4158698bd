"""The multi-style generator that ships inside the package.

`make pretrain` trains the paired multi-style model (`multistyle_paired`) on the offline photos
for longer than the demo can, then installs its generator here with
`python -m keras_styletransfer.serving.pretrained --install RUN_DIR`:

    keras_styletransfer/pretrained/multistyle_generator.keras   the generator alone (a few MB)
    keras_styletransfer/pretrained/multistyle_card.json         styles, training config, time,
                                                             held-out figures, versions

`keras-styletransfer stylize --style ink photo.jpg` uses it when no `--model` is given;
`load_pretrained()` gives it to Python code.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys

from keras_styletransfer.errors import DataSourceError, InputError

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WEIGHTS_DIR = os.path.join(PACKAGE_DIR, "pretrained")
# Another folder of shipped weights (tests, a site-wide install); read at each call.
WEIGHTS_ENV = "KERAS_STYLETRANSFER_WEIGHTS"
GENERATOR_FILE = "multistyle_generator.keras"
CARD_FILE = "multistyle_card.json"


def weights_folder(weights_dir=None):
    """`weights_dir`, else `$KERAS_STYLETRANSFER_WEIGHTS`, else the package's `pretrained/`."""
    return weights_dir or os.environ.get(WEIGHTS_ENV) or WEIGHTS_DIR


def pretrained_files(weights_dir=None):
    """`(generator_path, card_path)` of the shipped model, or `DataSourceError` saying how to
    make them when this installation has none."""
    weights_dir = weights_folder(weights_dir)
    generator = os.path.join(weights_dir, GENERATOR_FILE)
    card = os.path.join(weights_dir, CARD_FILE)
    if not (os.path.isfile(generator) and os.path.isfile(card)):
        raise DataSourceError(
            f"this installation has no pretrained multi-style model ({generator} is missing); "
            "pass --model with a model you trained (train-style), or run `make pretrain` in a "
            "source checkout to train and install one."
        )
    return generator, card


def pretrained_card(weights_dir=None):
    """The shipped model's card: `styles`, `config`, `training_seconds`, `metrics`, ..."""
    _, card = pretrained_files(weights_dir)
    with open(card, encoding="utf-8") as file:
        return json.load(file)


def load_pretrained(weights_dir=None):
    """The shipped multi-style generator and its style names.

    Returns:
        `(generator, style_names)`: a keras.Model taking `{"image", "style", "strength"}`, and
        the names of its style slots in index order.

    Example:
        >>> from keras_styletransfer.serving.inference import stylize
        >>> generator, styles = load_pretrained()
        >>> outputs = stylize(generator, [photo], style="ink", style_names=styles)
    """
    from keras_styletransfer.models.loading import load_trained

    generator_path, _ = pretrained_files(weights_dir)
    card = pretrained_card(weights_dir)
    return load_trained(generator_path, compile=False), list(card["styles"])


def install(run_dir, weights_dir=None, overwrite=False):
    """Copy a finished `multistyle_paired` run's generator into the package, with its card.

    Args:
        run_dir: str. A finished train-style run (config.json, generator.keras, metrics.json).
        weights_dir: str. Defaults to `weights_folder()` (the package's `pretrained/`).
        overwrite: bool. Replace weights already installed. Defaults to False.

    Returns:
        The installed generator's path.
    """
    from keras_styletransfer.files import write_atomically, write_json

    weights_dir = weights_folder(weights_dir)
    needed = ("config.json", "generator.keras", "metrics.json", "history.json")
    missing = [name for name in needed if not os.path.isfile(os.path.join(run_dir, name))]
    if missing:
        raise InputError(
            f"{run_dir!r} is not a finished train-style run (missing {', '.join(missing)})."
        )
    with open(os.path.join(run_dir, "config.json"), encoding="utf-8") as file:
        config = json.load(file)
    if config.get("family") != "multistyle_paired":
        raise InputError(
            f"{run_dir!r} trained a {config.get('family')!r} model; the shipped model is the "
            "paired multi-style one (train-style --family multistyle_paired)."
        )
    target = os.path.join(weights_dir, GENERATOR_FILE)
    if os.path.exists(target) and not overwrite:
        raise InputError(f"{target} exists; pass --overwrite to replace the shipped model.")
    with open(os.path.join(run_dir, "metrics.json"), encoding="utf-8") as file:
        metrics = json.load(file)
    import keras
    import tensorflow as tf

    os.makedirs(weights_dir, exist_ok=True)
    card = {
        "styles": list(config["styles"]),
        "family": config["family"],
        "config": config,
        "training_seconds": metrics.get("training_seconds"),
        "held_out_photos": metrics.get("held_out_photos"),
        "metrics": metrics.get("styles"),
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__},
    }
    source = os.path.join(run_dir, "generator.keras")
    write_atomically(target, lambda temporary: shutil.copyfile(source, temporary))
    write_json(os.path.join(weights_dir, CARD_FILE), card)
    return target


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m keras_styletransfer.serving.pretrained",
        description="Install a finished multistyle_paired run as the package's shipped model.",
    )
    parser.add_argument("--install", required=True, metavar="RUN_DIR")
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    try:
        path = install(args.install, overwrite=args.overwrite)
    except (InputError, DataSourceError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"installed {path} ({os.path.getsize(path) / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
