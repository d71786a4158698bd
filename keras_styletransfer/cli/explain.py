"""`keras-styletransfer explain`: attribution maps and a report for a trained model's outputs.

    keras-styletransfer explain --model RUN/final.keras [--method integrated_gradients] \\
        [--target realness] [--style S] [--size LONG_SIDE] INPUT... --out DIR

Each image is explained at its own size (long side up to 512 px unless --size says otherwise).
"""

from __future__ import annotations

import os

from keras_styletransfer.cli.common import (
    add_overwrite_argument,
    detail,
    examples,
    load_tensorflow,
    positive_int,
    progress,
)
from keras_styletransfer.config import TRANSLATION_FAMILIES
from keras_styletransfer.errors import InputError

# The names of `explain.attribution.METHODS` and `explain.targets.TARGETS`, here so that a wrong
# name is answered before TensorFlow loads (tests/test_explain_cli.py checks that they match).
METHOD_NAMES = (
    "saliency",
    "gradient_x_input",
    "smoothgrad",
    "integrated_gradients",
    "grad_cam",
    "patch_map",
)
TARGET_NAMES = (
    "realness",
    "region_realness",
    "style",
    "edit",
    "cycle",
    "unit",
    "realness_of_generated",
)
FAMILIES = TRANSLATION_FAMILIES
MAX_SIZE = 1024
MAX_STEPS = 1024
DEFAULT_LONG_SIDE = 512  # a photo's own size, up to this: readable, and minutes, not hours


def _check_size(model, args):
    """Refuse a --size the generator cannot take, or whose attributions would not fit in memory
    (each step of a path method holds the networks' activations: ~1 kB per pixel)."""
    from keras_styletransfer.serving.inference import minimum_side, size_multiple
    from keras_styletransfer.validation import check_fits_in_memory

    generator = model.primary_generator()
    multiple, smallest = size_multiple(generator), minimum_side(generator)
    if args.size is not None and (args.size % multiple or args.size < smallest):
        fitting = max(smallest, args.size // multiple * multiple)
        raise InputError(
            f"--size {args.size}: this model takes sides that are multiples of {multiple} and at "
            f"least {smallest}; use --size {fitting} or {fitting + multiple}."
        )
    size = args.size or DEFAULT_LONG_SIDE  # the default: the image's own size, up to this
    check_fits_in_memory(
        1024 * size**2 * max(args.steps, 1),
        f"explaining at --size {size} with --steps {args.steps}",
        "use a smaller --size or fewer --steps",
    )


def add_command(commands):
    """Add the `explain` sub-command to the CLI's sub-parsers."""
    parser = commands.add_parser(
        "explain",
        help="explain a trained model's verdicts: attribution overlays and a report per image",
        epilog=examples(
            "explain --model saved_models/demo/final.keras photo.jpg --out explained/",
            "explain --model RUN/final.keras --method grad_cam --target realness"
            " --size 256 photos/ --out explained/",
        ),
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    parser.add_argument("--model", required=True, help="a .keras file of a trained wrapper")
    parser.add_argument("--method", default="integrated_gradients", help=", ".join(METHOD_NAMES))
    parser.add_argument("--target", default="realness", help=", ".join(TARGET_NAMES))
    parser.add_argument("--out", required=True, help="output folder")
    add_overwrite_argument(parser, help="replace reports an earlier explain left in --out")
    parser.add_argument("--layer", default=None, help="layer for grad_cam / the unit target")
    parser.add_argument("--style", default=None, help="style name of a multi-style model")
    parser.add_argument("--steps", type=positive_int, default=32, help="integrated-gradients steps")
    parser.add_argument(
        "--size",
        type=positive_int,
        default=None,
        help=f"explain each image with its long side resized to SIZE pixels, aspect kept "
        f"(default: its own size, long side at most {DEFAULT_LONG_SIDE})",
    )
    parser.set_defaults(handler=run)
    return parser


def run(args):
    """Explain every input image; write overlays, report.png and report.html per image."""
    if args.method not in METHOD_NAMES:
        raise InputError(
            f"Unknown method {args.method!r}. Valid methods: {', '.join(METHOD_NAMES)}."
        )
    if args.target not in TARGET_NAMES:
        raise InputError(
            f"Unknown target {args.target!r}. Valid targets: {', '.join(TARGET_NAMES)}."
        )
    if (args.size or 0) > MAX_SIZE or args.steps > MAX_STEPS:
        raise InputError(
            f"--size {args.size} / --steps {args.steps}: explain takes --size up to {MAX_SIZE} "
            f"and --steps up to {MAX_STEPS} (attributions at a larger size do not fit in memory: "
            "explain a downscaled image, or crops of it)."
        )
    from keras_styletransfer.files import check_output_folder

    check_output_folder(args.out, overwrite=args.overwrite)  # a file, a model's folder, read-only
    load_tensorflow(args)
    from keras_styletransfer.explain.report import explanation_report, model_sized
    from keras_styletransfer.images import to_model_range
    from keras_styletransfer.models.loading import require_wrapper
    from keras_styletransfer.serving.inference import collect_inputs

    model = require_wrapper(args.model, "explain", families=FAMILIES)
    _check_size(model, args)
    paths, images, skipped = collect_inputs(args.inputs)
    names = [os.path.splitext(os.path.basename(path))[0] for path in paths]
    check_output_folder(
        args.out, inputs=(*paths, args.model), writes=names, overwrite=args.overwrite
    )
    for path, reason in skipped:
        print(f"skipped {path}: {reason}")
    generator = model.primary_generator()
    for path, image in progress(
        list(zip(paths, images, strict=True)), description="explain", enabled=len(paths) > 1
    ):
        long_side = args.size or min(max(image.shape[:2]), DEFAULT_LONG_SIDE)
        resized = model_sized(image, generator, long_side)
        name = os.path.splitext(os.path.basename(path))[0]
        result = explanation_report(
            model,
            images=to_model_range(resized)[None],
            out_dir=os.path.join(args.out, name),
            methods=(args.method,),
            target=args.target,
            layer_name=args.layer,
            style=args.style,
            steps=args.steps,
            names=[name],
        )
        for method, paths in result["overlays"].items():
            detail(f"  {method}: {paths[0]}")
        height, width = resized.shape[:2]
        print(
            f"{path}: {args.target} = {result['scores'][0]:.4f} at {width}x{height} -> "
            f"{result['sheet']} (and report.html)"
        )
    return 0
