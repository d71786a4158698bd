"""`keras-styletransfer fuse`: several trained generators as one `.keras` generator.

    keras-styletransfer fuse --models A.keras B.keras --mode interpolate --alpha 0.3 --out F.keras
    keras-styletransfer fuse --models A.keras B.keras C.keras --mode average --weights .2,.3,.5 \\
        --out F.keras
    keras-styletransfer fuse --models A.keras B.keras --mode choose [--discriminator D.keras] \\
        --out F.keras
    keras-styletransfer fuse --models MULTISTYLE.keras --mode blend \\
        --weights pencil=0.3,cartoon=0.7 [--strength 0.8] --out F.keras

The result is an image -> image generator: `stylize --model F.keras` and `export` take it. Blend
weights follow the rule of `stylize --blend` (`validation.style_weights`: finite, >= 0, any
positive sum; normalised).
"""

from __future__ import annotations

from keras_styletransfer.cli.common import (
    add_direction_argument,
    add_overwrite_argument,
    add_strength_argument,
    examples,
    load_tensorflow,
)
from keras_styletransfer.errors import InputError
from keras_styletransfer.files import check_output_file, write_atomically
from keras_styletransfer.validation import check_strength, parse_name_weights

MODES = ("interpolate", "average", "choose", "blend")


def add_command(commands):
    """Add the `fuse` sub-command to the CLI's sub-parsers."""
    parser = commands.add_parser(
        "fuse",
        help="interpolate, average, choose between or blend trained generators",
        epilog=examples(
            "fuse --models pencil.keras watercolour.keras --mode interpolate --alpha 0.75"
            " --out fused.keras",
            "fuse --models saved_models/demo/final.keras --mode blend"
            " --weights pencil=0.3,cartoon=0.7 --out blend.keras",
        ),
    )
    parser.add_argument(
        "--models", nargs="+", required=True, help=".keras files (wrappers or generators)"
    )
    parser.add_argument("--mode", default="average", help=f"one of {', '.join(MODES)}")
    parser.add_argument("--alpha", type=float, default=None, help="interpolate: 0 = A, 1 = B")
    parser.add_argument(
        "--weights",
        default=None,
        help="average: one weight per model, summing to 1 (e.g. 0.2,0.8); "
        "blend: name=weight pairs (e.g. pencil=0.3,cartoon=0.7)",
    )
    parser.add_argument(
        "--discriminator",
        default=None,
        help="choose: a discriminator .keras (defaults to the first model's)",
    )
    add_strength_argument(parser)
    add_direction_argument(parser)
    parser.add_argument("--out", required=True, help="the .keras file to write")
    add_overwrite_argument(parser, help="replace an existing --out file (never an input)")
    parser.set_defaults(handler=run)
    return parser


def _numbers(text):
    try:
        return [float(item) for item in text.split(",")]
    except ValueError:
        raise InputError(
            f"--weights takes numbers separated by commas, e.g. 0.2,0.8; received {text!r}."
        ) from None


def _check_arguments(args):
    """Refuse combinations of options that do not fit the mode (before TensorFlow loads)."""
    if args.mode not in MODES:
        raise InputError(f"unknown mode {args.mode!r}; choose one of {', '.join(MODES)}.")
    if not args.out.endswith(".keras"):
        raise InputError(f"--out must name a .keras file; received {args.out!r}.")
    count = len(args.models)
    if args.mode == "interpolate":
        if count != 2 or args.alpha is None:
            raise InputError("--mode interpolate takes exactly two --models and --alpha.")
    elif args.alpha is not None:
        raise InputError(f"--alpha is for --mode interpolate, not {args.mode}.")
    if args.mode == "blend":
        if count != 1 or args.weights is None:
            raise InputError(
                "--mode blend takes one multi-style model and --weights name=weight pairs."
            )
        parse_name_weights(args.weights, option="--weights for blend")
        check_strength(args.strength)
    elif count < 2:
        raise InputError(f"--mode {args.mode} fuses at least two --models; received {count}.")
    if args.weights is not None and args.mode in ("interpolate", "choose"):
        raise InputError(f"--weights is for --mode average or blend, not {args.mode}.")
    if args.mode == "average" and args.weights is not None:
        _numbers(args.weights)
    check_output_file(args.out, inputs=(*args.models, args.discriminator), overwrite=args.overwrite)


def _blend(args, parts):
    from keras_styletransfer.models import composite

    if not parts.style_names:
        raise InputError(
            f"{args.models[0]!r} is not a multi-style model; blend needs one "
            "(train-style --family multistyle)."
        )
    weights = parse_name_weights(args.weights, option="--weights for blend")
    return composite.StyleBlendGenerator(
        parts.generator, weights, parts.style_names, strength=args.strength
    )


def _mixture(args, parts):
    from keras_styletransfer.models import composite
    from keras_styletransfer.models.loading import parts_of

    if args.mode == "interpolate":
        return composite.interpolate(
            parts[0].generator, parts[1].generator, args.alpha, name="interpolated"
        )
    discriminator = None
    if args.mode == "choose":
        if args.discriminator:
            chosen = parts_of(args.discriminator)
            discriminator = chosen.discriminator or chosen.model
        else:
            discriminator = parts[0].discriminator
        if discriminator is None:
            raise InputError(
                f"{args.models[0]!r} holds no discriminator; pass --discriminator D.keras."
            )
    return composite.MixtureGenerator(
        [p.generator for p in parts],
        mixture_weights=_numbers(args.weights) if args.weights else None,
        discriminator=discriminator,
        mode=args.mode,
    )


def run(args):
    """Load the models, fuse them, save and check the result."""
    _check_arguments(args)
    load_tensorflow(args)
    import numpy as np

    from keras_styletransfer.models.loading import parts_of

    parts = [parts_of(path, args.direction) for path in args.models]
    fused = _blend(args, parts[0]) if args.mode == "blend" else _mixture(args, parts)
    write_atomically(args.out, fused.save)
    size = 4 * getattr(fused, "size_multiple", 1)
    shape = fused.inputs[0].shape[1:]
    probe = np.zeros((1, *(size if d is None else d for d in shape)), np.float32)
    output = np.asarray(fused(probe))
    print(
        f"fused {len(args.models)} model(s) ({args.mode}) into {args.out}: input "
        f"{tuple(shape)}, output {output.shape[1:]} on a {probe.shape[1:]} probe."
    )
    return 0
