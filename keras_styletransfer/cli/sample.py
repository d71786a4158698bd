"""`keras-styletransfer sample`: a grid of images from a trained noise GAN.

keras-styletransfer sample --model DIR/final.keras --out grid.png [--num 64] [--seed 0]
"""

from __future__ import annotations

from keras_styletransfer.cli.common import (
    add_overwrite_argument,
    examples,
    load_tensorflow,
    positive_int,
    seed_int,
)
from keras_styletransfer.errors import InputError

MAX_SAMPLES = 10_000  # images in one grid


def add_command(commands):
    """Add the `sample` sub-command to the CLI's sub-parsers."""
    parser = commands.add_parser(
        "sample",
        help="write a grid of samples from a trained GAN",
        epilog=examples(
            "sample --model saved_models/mnist_dcgan/final.keras --out grid.png --num 64"
        ),
    )
    parser.add_argument("--model", required=True, help="a .keras file written by `train`")
    parser.add_argument("--out", required=True, help="PNG file to write")
    parser.add_argument("--num", type=positive_int, default=64)
    parser.add_argument("--seed", type=seed_int, default=0)
    add_overwrite_argument(parser, help="replace an existing --out file")
    parser.set_defaults(handler=run)
    return parser


def run(args):
    """Draw `--num` noise vectors with `--seed` and save the generator's images as one grid."""
    if not args.out.lower().endswith(".png"):
        raise InputError(f"--out must name a .png file; received {args.out!r}.")
    if args.num > MAX_SAMPLES:
        raise InputError(
            f"--num {args.num} is more than one grid holds (at most {MAX_SAMPLES}); write "
            "several grids with different --seed values."
        )
    from keras_styletransfer.files import check_output_file

    check_output_file(args.out, inputs=(args.model,), overwrite=args.overwrite)
    load_tensorflow(args)
    import numpy as np

    from keras_styletransfer.images import save_image_grid
    from keras_styletransfer.models.loading import require_wrapper
    from keras_styletransfer.validation import check_fits_in_memory

    model = require_wrapper(args.model, "sample", families=("gan",))
    pixels = int(np.prod(model.primary_generator().outputs[0].shape[1:]))
    # float32 outputs, their uint8 copy and the grid: about 4 + 1 + 1 bytes per value, doubled.
    check_fits_in_memory(
        12 * args.num * pixels, f"a grid of {args.num} samples", "use a smaller --num"
    )
    noise = np.random.default_rng(args.seed).standard_normal((args.num, model.latent_dim))
    images = model.primary_generator().predict(noise.astype("float32"), verbose=0)
    if not np.isfinite(images).all():
        raise InputError(
            f"{args.model!r} produced non-finite values (NaN / infinity); the model is unusable "
            "(its training diverged): use an earlier checkpoint or train again."
        )
    print(save_image_grid(images, args.out))
    return 0
