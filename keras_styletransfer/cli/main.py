"""The `keras-styletransfer` command.

    keras-styletransfer presets
    keras-styletransfer train --preset doc002_mnist --epochs 5 [--run-dir DIR] [--data SOURCE]
    keras-styletransfer sample --model DIR/final.keras --out grid.png [--num 64]
    keras-styletransfer stylize --model M.keras [--style S | --blend a=.3,b=.7] [--strength .7]
        INPUT... --out DIR
    keras-styletransfer demo [--run-dir saved_models/demo] [--digits]

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
    _add_distribution_arguments(train)
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

    style = commands.add_parser(
        "train-style", help="train an image-to-image model on the offline photos or a folder"
    )
    style.add_argument("--family", default="pix2pix", help="pix2pix, cyclegan or multistyle")
    style.add_argument(
        "--styles",
        default=None,
        help="comma-separated: pencil, watercolour, cartoon, detail (offline data; default "
        "pencil); with a folder, the style's name (default: the folder's name) or, for "
        "multistyle, the style sub-folders (default: all but photo/)",
    )
    style.add_argument(
        "--data",
        default="offline",
        help="'offline' (embedded photos, evaluated on held-out ones), a folder (pix2pix: A|B "
        "side-by-side files or A/ + B/; cyclegan: trainA/ trainB/; multistyle: one sub-folder "
        "per style + photo/), or tfds:cycle_gan/NAME",
    )
    style.add_argument("--tfds-data-dir", default="", help="where prepared TFDS data lives")
    style.add_argument("--epochs", type=_positive_int, default=10)
    style.add_argument("--steps-per-epoch", type=_positive_int, default=100)
    style.add_argument("--batch-size", type=_positive_int, default=4)
    style.add_argument("--image-size", type=_positive_int, default=64)
    style.add_argument("--filters", type=_positive_int, default=32)
    style.add_argument("--seed", type=int, default=0)
    _add_distribution_arguments(style)
    style.add_argument("--run-dir", default=None, help="defaults to saved_models/<family>_<styles>")
    style.add_argument("--overwrite", action="store_true")

    evaluate = commands.add_parser(
        "evaluate", help="SSIM / PSNR of a trained model on the held-out offline photos"
    )
    evaluate.add_argument("--model", required=True, help="final.keras of a train-style run")
    evaluate.add_argument("--out", default=None, help="JSON file to write (optional)")

    stylize = commands.add_parser("stylize", help="stylise image files with a trained model")
    stylize.add_argument("inputs", nargs="+", help="image files and/or folders of images")
    stylize.add_argument(
        "--model", required=True, help="a .keras file: a trained model or generator"
    )
    stylize.add_argument("--out", required=True, help="output folder")
    stylize.add_argument("--style", default=None, help="style name (multi-style models)")
    stylize.add_argument(
        "--blend",
        default=None,
        help="style weights, e.g. 'pencil=0.3,cartoon=0.7' (multi-style models)",
    )
    stylize.add_argument("--strength", type=float, default=1.0, help="0 (photo) to 1 (full style)")
    stylize.add_argument(
        "--direction", choices=("AB", "BA"), default="AB", help="CycleGAN: A->B or B->A"
    )
    stylize.add_argument("--batch-size", type=_positive_int, default=4)
    stylize.add_argument(
        "--max-tile-pixels",
        type=_positive_int,
        default=512 * 512,
        help="larger images are processed in blended tiles of about this many pixels",
    )

    demo = commands.add_parser("demo", help="the README's main job on the embedded data")
    demo.add_argument("--run-dir", default=None, help="defaults to saved_models/demo")
    demo.add_argument("--epochs", type=_positive_int, default=None)
    demo.add_argument(
        "--digits",
        action="store_true",
        help="the foundation's job: document 002's GAN on digits (saved_models/demo_digits)",
    )
    for module in _command_modules():
        module.add_command(commands)
    return parser


# Sub-commands that live in their own modules: each has `add_command(commands)`, adding one
# sub-parser whose `set_defaults(handler=...)` names a function `handler(args) -> int`.
# These modules import TensorFlow only inside their handlers, so `--help` stays fast.
COMMAND_MODULES = (
    "keras_styletransfer.cli.explain",
    "keras_styletransfer.cli.export",
    "keras_styletransfer.cli.fuse",
    "keras_styletransfer.cli.fine_tune",
)


def _command_modules():
    import importlib
    import importlib.util

    modules = []
    for name in COMMAND_MODULES:
        if importlib.util.find_spec(name) is not None:
            modules.append(importlib.import_module(name))
    return modules


def _add_distribution_arguments(parser):
    from keras_styletransfer.config import PRECISION_POLICIES, STRATEGY_NAMES

    parser.add_argument(
        "--strategy",
        choices=STRATEGY_NAMES,
        default="auto",
        help="auto: all GPUs when there are several, else one device; mirrored: every GPU (or "
        "logical CPU) of this machine; multi_worker: the machines in TF_CONFIG. --batch-size is "
        "the global batch over all replicas",
    )
    parser.add_argument(
        "--mixed-precision",
        choices=PRECISION_POLICIES,
        default="none",
        help="mixed_float16 (GPUs; loss scaling is added) or mixed_bfloat16",
    )


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
        strategy=getattr(args, "strategy", "auto"),
        mixed_precision=getattr(args, "mixed_precision", "none"),
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

    from keras_styletransfer.training.noise import train

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


def parse_name_weights(text, option="--blend"):
    """'pencil=0.3,cartoon=0.7' -> {'pencil': 0.3, 'cartoon': 0.7}, or a clear InputError."""
    weights = {}
    for item in text.split(","):
        name, separator, value = item.partition("=")
        try:
            weights[name.strip()] = float(value)
        except ValueError:
            separator = ""
        if not separator or not name.strip():
            raise InputError(
                f"{option} takes name=weight pairs separated by commas, e.g. "
                f"pencil=0.3,cartoon=0.7; received {text!r}."
            )
    return weights


def load_generator(path, direction="AB"):
    """The generator inside a `.keras` file and its style slots (None for one-style models)."""
    from keras_styletransfer.models.loading import parts_of

    parts = parts_of(path, direction)
    if parts.family == "gan":
        raise InputError(f"{path!r} holds a noise GAN; use `sample`, not `stylize`.")
    return parts.generator, parts.style_names


def _stylize(args):
    if args.style and args.blend:
        raise InputError("pass --style or --blend, not both.")
    from keras_styletransfer.serving.inference import check_strength

    strength = check_strength(args.strength)
    style = parse_name_weights(args.blend) if args.blend else args.style
    from keras_styletransfer.serving.inference import (
        Stylizer,
        collect_inputs,
        contact_sheet,
        is_style_generator,
        style_weights,
    )

    paths, images, skipped = collect_inputs(args.inputs)
    generator, names = load_generator(args.model, args.direction)
    if is_style_generator(generator):
        style_weights(style, names or ["0"])  # check the style before any work
    stylizer = Stylizer(
        generator, names, batch_size=args.batch_size, max_tile_pixels=args.max_tile_pixels
    )
    outputs = stylizer(images, style=style, strength=strength, verbose=1)

    from keras_styletransfer.images import save_png, to_uint8

    os.makedirs(args.out, exist_ok=True)
    written, used = [], set()
    for path, output in zip(paths, outputs, strict=True):
        stem = os.path.splitext(os.path.basename(path))[0]
        name, counter = f"{stem}.png", 1
        while name in used:  # two inputs with one name in different folders
            counter += 1
            name = f"{stem}_{counter}.png"
        used.add(name)
        written.append(save_png(to_uint8(output), os.path.join(args.out, name)))
    sheet = contact_sheet([(image, to_uint8(o)) for image, o in zip(images, outputs, strict=True)])
    sheet_path = save_png(sheet, os.path.join(args.out, "contact_sheet.png"))
    print(f"stylised {len(written)} image(s) into {args.out}; contact sheet {sheet_path}")
    if skipped:
        print(f"skipped {len(skipped)} unreadable file(s), e.g. {skipped[0][0]} ({skipped[0][1]})")
    return 0


def _styles_argument(args):
    """The styles of a train-style run: as given, or what the data implies."""
    if args.styles:
        return tuple(s.strip() for s in args.styles.split(",") if s.strip())
    data = args.data
    if data == "offline":
        return ("pencil",)
    if args.family == "multistyle" and os.path.isdir(data):
        return tuple(
            sorted(
                name
                for name in os.listdir(data)
                if name != "photo" and os.path.isdir(os.path.join(data, name))
            )
        )
    name = os.path.basename(os.path.normpath(data.removeprefix("tfds:")))
    return ("".join(c if c.isalnum() or c in "_-" else "_" for c in name) or "style",)


def _style_config(args, **overrides):
    from keras_styletransfer.config import TranslationConfig, validate_translation_config

    values = dict(
        family=args.family,
        styles=_styles_argument(args),
        data=args.data,
        tfds_data_dir=args.tfds_data_dir,
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch,
        batch_size=args.batch_size,
        image_size=args.image_size,
        filters=args.filters,
        seed=args.seed,
        strategy=getattr(args, "strategy", "auto"),
        mixed_precision=getattr(args, "mixed_precision", "none"),
    )
    values.update(overrides)
    return validate_translation_config(TranslationConfig(**values))


def _train_style(args, config=None, overwrite=None):
    config = config or _style_config(args)
    run_dir = args.run_dir or os.path.join(
        "saved_models", f"{config.family}_{'_'.join(config.styles)}"
    )
    check_run_dir(config, run_dir, args.overwrite if overwrite is None else overwrite)
    print(f"{PROG}: run directory {run_dir}\n{config.to_json()}", flush=True)
    from keras_styletransfer.training.translation import train_translation

    result = train_translation(config, run_dir)
    if result.initial_epoch:
        print(f"resumed from epoch {result.initial_epoch} (backup in {run_dir}/backup)")
    print(f"\ntrained in {result.seconds / 60:.1f} min. Outputs in {run_dir}:")
    for name in (
        "final.keras",
        "generator.keras",
        "results.png",
        "patch_map.png",
        "loss_curves.png",
        "explanations/report.png",
        "exported",
        "metrics.json",
    ):
        path = os.path.join(run_dir, name)
        if os.path.exists(path):
            print(f"  {path}")
    _print_style_metrics(result.metrics)
    return 0


def _print_style_metrics(metrics):
    for style, parts in metrics["styles"].items():
        for part, m in parts.items():
            print(
                f"  {style:12s} held-out {part:6s} SSIM {m['ssim']:.3f} (photo unchanged "
                f"{m['baseline_ssim']:.3f}, gap closed {m['ssim_gap_closed']:.0%}), PSNR "
                f"{m['psnr']:.2f} dB (photo unchanged {m['baseline_psnr']:.2f} dB)"
            )


def _evaluate(args):
    if not os.path.isfile(args.model):
        raise InputError(f"model file {args.model!r} not found; pass final.keras of a run.")
    stored = os.path.join(os.path.dirname(os.path.abspath(args.model)), "config.json")
    if not os.path.isfile(stored):
        raise InputError(
            f"no config.json beside {args.model!r}; evaluate needs the run directory that "
            "train-style wrote (it names the styles and image size)."
        )
    from keras_styletransfer.config import TranslationConfig

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
    import keras

    from keras_styletransfer.data.offline_photos import load_offline_style_set
    from keras_styletransfer.training.translation import evaluate_on_held_out, judge_on_held_out

    model = keras.saving.load_model(args.model)
    data = load_offline_style_set(size=config.image_size, styles=config.styles, seed=config.seed)
    metrics = {"family": config.family, "styles": evaluate_on_held_out(model, config, data)}
    _print_style_metrics(metrics)
    metrics["judge"] = judge_on_held_out(model, config, data)
    for style, entry in metrics["judge"].items():
        for label in ("model", "baseline"):
            m = entry[label]
            print(
                f"  {style:12s} {label:8s} style score {m['style_score']:.3f}, judged "
                f"{style} {m['style_accuracy']:.0%}, FID {m['fid_judge_features']:.3g}, "
                f"KID {m['kid_judge_features']:.3g} (style-judge features)"
            )
    if args.out:
        import json

        with open(args.out, "w") as file:
            json.dump(metrics, file, indent=2)
        print(f"wrote {args.out}")
    return 0


# 8,000 steps at 1e-3: the best of 2e-4, 6e-4 and 1e-3 measured at 5,000 steps (README).
DEMO_STYLE = dict(
    family="pix2pix",
    styles=("watercolour",),
    epochs=80,
    steps_per_epoch=100,
    learning_rate=1e-3,
)


def _demo(args):
    if args.digits:
        print(f"{PROG} demo: document 002's MNIST GAN on the embedded real digits, then quality.")
        args.run_dir = args.run_dir or os.path.join("saved_models", "demo_digits")
        args.epochs = args.epochs or 5
        return _train(args, preset_name="doc002_mnist", measure_quality=True, overwrite=True)
    from keras_styletransfer.config import TranslationConfig, validate_translation_config

    print(
        f"{PROG} demo: pix2pix learns a watercolour style from photos (paired crops of real "
        "photographs shipped in scikit-image), then is scored on two held-out photos against "
        "their exact stylisation."
    )
    values = dict(DEMO_STYLE)
    if args.epochs:
        values["epochs"] = args.epochs
    config = validate_translation_config(TranslationConfig(**values))
    args.run_dir = args.run_dir or os.path.join("saved_models", "demo")
    args.overwrite = True  # the demo is re-run freely; an interrupted one resumes
    return _train_style(args, config=config, overwrite=True)


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.debug:
        # TensorFlow's C++ log ("failed call to cuInit" on every machine without a GPU) would
        # bury the command's own messages; its errors still arrive as exceptions. --debug keeps it.
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
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
        if args.command == "train-style":
            return _train_style(args)
        if args.command == "evaluate":
            return _evaluate(args)
        if args.command == "stylize":
            return _stylize(args)
        if args.command == "demo":
            return _demo(args)
        if getattr(args, "handler", None) is not None:
            return args.handler(args)
    except InputError as error:
        if args.debug:
            raise
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; run the same command again to resume.", file=sys.stderr)
        return 130
    except Exception as error:
        from keras_styletransfer.training.callbacks import NonFiniteLossError

        if isinstance(error, NonFiniteLossError) and not args.debug:
            print(f"{PROG}: error: {error}", file=sys.stderr)
            return 3
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
