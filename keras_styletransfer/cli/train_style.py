"""`keras-styletransfer train-style`: train an image-to-image model (pix2pix, CycleGAN, ...).

    keras-styletransfer train-style --family pix2pix --styles watercolour [--data SOURCE] \\
        [--epochs 10] [--run-dir DIR]
"""

from __future__ import annotations

import os

from keras_styletransfer.cli.common import (
    add_run_arguments,
    examples,
    keras_verbose,
    learning_rate,
    positive_int,
    print_resumed,
    run_fields,
    start_run,
)

# What a finished run lists, in this order, when it wrote them.
RUN_OUTPUTS = (
    "final.keras",
    "generator.keras",
    "results.png",
    "patch_map.png",
    "loss_curves.png",
    "explanations/report.png",
    "exported",
    "metrics.json",
)


def add_command(commands):
    """Add the `train-style` sub-command to the CLI's sub-parsers."""
    parser = commands.add_parser(
        "train-style",
        help="train an image-to-image model on the offline photos or a folder",
        epilog=examples(
            "train-style --family pix2pix --styles cartoon --epochs 40",
            "train-style --family multistyle_paired --styles watercolour,ink,oil --epochs 60",
            "train-style --family cyclegan --data horse2zebra/ --run-dir saved_models/h2z",
        ),
    )
    parser.add_argument(
        "--family",
        default="pix2pix",
        help="pix2pix (paired, one style), multistyle_paired (paired, one model for several "
        "styles), cyclegan (unpaired) or multistyle (unpaired, several styles)",
    )
    parser.add_argument(
        "--styles",
        default=None,
        help="comma-separated: watercolour, cartoon, pencil, ink, oil, detail (offline data; "
        "default pencil); with a folder, the style's name (default: the folder's name) or, for "
        "the multistyle families, the style sub-folders (default: all but photo/)",
    )
    add_run_arguments(
        parser,
        epochs=10,
        steps_per_epoch=100,
        batch_size=4,
        data_help="'offline' (embedded photos, evaluated on held-out ones), a folder (pix2pix: "
        "A|B side-by-side files or A/ + B/; cyclegan: trainA/ trainB/; multistyle: one "
        "sub-folder per style + photo/; multistyle_paired: photo/ + one sub-folder per style "
        "holding each photo's stylisation under the same file name), or tfds:cycle_gan/NAME",
        run_dir_help="defaults to saved_models/<family>_<styles>",
    )
    parser.add_argument("--image-size", type=positive_int, default=64)
    parser.add_argument("--filters", type=positive_int, default=32)
    parser.add_argument(
        "--learning-rate",
        type=learning_rate,
        default=None,
        help="Adam's learning rate for G and D (default 2e-4)",
    )
    parser.add_argument(
        "--offline-split",
        choices=("auto", "photos", "halves"),
        default="auto",
        help="offline data: how the six training photos are shared between the unpaired sides: "
        "halves (each photo cut in two, one half a side: the same subjects on both sides), "
        "photos (three photos a side: different subjects), auto (halves for the unpaired "
        "families, photos for the paired ones; the default)",
    )
    parser.add_argument(
        "--generator-average",
        type=float,
        default=0.0,
        help="keep a moving average of the generator's weights with this momentum (e.g. "
        "0.999) and save it as the trained model; 0 (the default) keeps the last step's",
    )
    parser.add_argument(
        "--preset",
        default="",
        help="a model preset of the family instead of its default (see `presets`), e.g. "
        "cut_filter (a CUT whose generator is a learned photo filter: smoothing, outlines, "
        "grey, paper, a colour grade), cut_operators (a CUT whose generator edits the photo), "
        "cut_residual (starts as the photo, R1 on D), multistyle_filter (a learned filter per "
        "style) or multistyle_multitask (StarGAN v2's discriminator, a patch map per style)",
    )
    parser.set_defaults(handler=run)
    return parser


def styles_of(args):
    """The styles of a train-style run: as given, or what the data implies."""
    if args.styles:
        return tuple(s.strip() for s in args.styles.split(",") if s.strip())
    data = args.data
    if data == "offline":
        return ("pencil",)
    if args.family in ("multistyle", "multistyle_paired") and os.path.isdir(data):
        return tuple(
            sorted(
                name
                for name in os.listdir(data)
                if name != "photo" and os.path.isdir(os.path.join(data, name))
            )
        )
    name = os.path.basename(os.path.normpath(data.removeprefix("tfds:")))
    return ("".join(c if c.isalnum() or c in "_-" else "_" for c in name) or "style",)


def run(args):
    """Build the configuration from the arguments, then train and report."""
    from keras_styletransfer.config import TranslationConfig

    config = TranslationConfig(
        family=args.family,
        styles=styles_of(args),
        image_size=args.image_size,
        filters=args.filters,
        offline_split=args.offline_split,
        generator_average=args.generator_average,
        preset=args.preset,
        **({"learning_rate": args.learning_rate} if args.learning_rate else {}),
        **run_fields(args),
    )
    return train_and_report(config, args.run_dir, args.overwrite, args)


def train_and_report(config, run_dir, overwrite, args=None):
    """Check `config` and `run_dir` (before TensorFlow loads), train, print the outputs."""
    from keras_styletransfer.training.checks import validate_translation_config

    validate_translation_config(config)
    run_dir = run_dir or os.path.join("saved_models", f"{config.family}_{'_'.join(config.styles)}")
    start_run(config, run_dir, overwrite, args)
    from keras_styletransfer.training.translation import train_translation

    result = train_translation(config, run_dir, verbose=keras_verbose())
    print_resumed(result, run_dir)
    print(f"\ntrained in {result.seconds / 60:.1f} min. Outputs in {run_dir}:")
    for name in RUN_OUTPUTS:
        path = os.path.join(run_dir, name)
        if os.path.exists(path):
            print(f"  {path}")
    print_style_metrics(result.metrics)
    return 0


def print_style_metrics(metrics):
    """One line per style and held-out view: SSIM and PSNR against the unchanged photo, the
    images where the model beats the photo, and the checkerboard energy against the truth's."""
    labels = {"crops": "crops", "full": "full size", "photos": "photos"}
    for style, parts in metrics["styles"].items():
        for part, m in parts.items():
            label = labels.get(part, f"at {part} px")
            extra = ""
            if "beats_photo" in m:
                extra = (
                    f", better than the photo on {m['beats_photo']}/{m['count']}, checkerboard "
                    f"{m['checkerboard_ratio']:.2f}x the truth's"
                )
            print(
                f"  {style:12s} {label:10s} SSIM {m['ssim']:.3f} (photo unchanged "
                f"{m['baseline_ssim']:.3f}, gap closed {m['ssim_gap_closed']:.0%}), PSNR "
                f"{m['psnr']:.2f} dB (photo {m['baseline_psnr']:.2f} dB){extra}"
            )
