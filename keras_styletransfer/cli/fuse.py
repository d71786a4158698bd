"""`keras-styletransfer fuse`: several trained generators as one `.keras` generator.

    keras-styletransfer fuse --models A.keras B.keras --mode interpolate --alpha 0.3 --out F.keras
    keras-styletransfer fuse --models A.keras B.keras C.keras --mode average --weights .2,.3,.5 \\
        --out F.keras
    keras-styletransfer fuse --models A.keras B.keras --mode choose [--discriminator D.keras] \\
        --out F.keras
    keras-styletransfer fuse --models MULTISTYLE.keras --mode blend \\
        --weights pencil=0.3,cartoon=0.7 [--strength 0.8] --out F.keras

The result is an image -> image generator: `stylize --model F.keras` and `export` take it.
"""

from __future__ import annotations

MODES = ("interpolate", "average", "choose", "blend")


def add_command(commands):
    """Add the `fuse` sub-command to the CLI's sub-parsers."""
    parser = commands.add_parser(
        "fuse", help="interpolate, average, choose between or blend trained generators"
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
    parser.add_argument("--strength", type=float, default=1.0, help="blend: 0 (photo) to 1")
    parser.add_argument(
        "--direction", choices=("AB", "BA"), default="AB", help="CycleGAN models: A->B or B->A"
    )
    parser.add_argument("--out", required=True, help="the .keras file to write")
    parser.set_defaults(handler=run)


def _numbers(text):
    from keras_styletransfer.errors import InputError

    try:
        return [float(item) for item in text.split(",")]
    except ValueError:
        raise InputError(
            f"--weights takes numbers separated by commas, e.g. 0.2,0.8; received {text!r}."
        ) from None


def _pairs(text):
    from keras_styletransfer.cli import parse_name_weights

    return parse_name_weights(text, option="--weights for blend")


def _check_arguments(args):
    from keras_styletransfer.errors import InputError

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
    elif count < 2:
        raise InputError(f"--mode {args.mode} fuses at least two --models; received {count}.")
    if args.weights is not None and args.mode in ("interpolate", "choose"):
        raise InputError(f"--weights is for --mode average or blend, not {args.mode}.")


def run(args):
    """Load the models, fuse them, save and check the result."""
    _check_arguments(args)
    import numpy as np

    from keras_styletransfer.errors import InputError
    from keras_styletransfer.models import composite as fusion

    parts = [fusion.load_parts(path, args.direction) for path in args.models]
    if args.mode == "blend":
        generator, _, names = parts[0]
        if not names:
            raise InputError(
                f"{args.models[0]!r} is not a multi-style model; blend needs one "
                "(train-style --family multistyle)."
            )
        fused = fusion.StyleBlendGenerator(
            generator, _pairs(args.weights), names, strength=args.strength
        )
    elif args.mode == "interpolate":
        fused = fusion.interpolate(parts[0][0], parts[1][0], args.alpha, name="interpolated")
    else:
        generators = [generator for generator, _, _ in parts]
        discriminator = None
        if args.mode == "choose":
            if args.discriminator:
                discriminator = fusion.load_parts(args.discriminator)[0]
            else:
                discriminator = parts[0][1]
            if discriminator is None:
                raise InputError(
                    f"{args.models[0]!r} holds no discriminator; pass --discriminator D.keras."
                )
        fused = fusion.MixtureGenerator(
            generators,
            mixture_weights=_numbers(args.weights) if args.weights else None,
            discriminator=discriminator,
            mode=args.mode,
        )
    import os

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    fused.save(args.out)
    size = 4 * getattr(fused, "size_multiple", 1)
    shape = fused.inputs[0].shape[1:]
    probe = np.zeros((1, *(size if d is None else d for d in shape)), np.float32)
    output = np.asarray(fused(probe))
    print(
        f"fused {len(args.models)} model(s) ({args.mode}) into {args.out}: input "
        f"{tuple(shape)}, output {output.shape[1:]} on a {probe.shape[1:]} probe."
    )
    return 0
