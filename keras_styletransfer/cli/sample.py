"""`keras-styletransfer sample`: a grid of images from a trained noise GAN.

keras-styletransfer sample --model DIR/final.keras --out grid.png [--num 64] [--seed 0]
"""

from __future__ import annotations

from keras_styletransfer.cli.common import load_tensorflow, positive_int
from keras_styletransfer.errors import InputError


def add_command(commands):
    """Add the `sample` sub-command to the CLI's sub-parsers."""
    parser = commands.add_parser("sample", help="write a grid of samples from a trained GAN")
    parser.add_argument("--model", required=True, help="a .keras file written by `train`")
    parser.add_argument("--out", required=True, help="PNG file to write")
    parser.add_argument("--num", type=positive_int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(handler=run)
    return parser


def run(args):
    """Draw `--num` noise vectors with `--seed` and save the generator's images as one grid."""
    if not args.out.lower().endswith(".png"):
        raise InputError(f"--out must name a .png file; received {args.out!r}.")
    load_tensorflow(args)
    import numpy as np

    from keras_styletransfer.images import save_image_grid
    from keras_styletransfer.models.loading import require_wrapper

    model = require_wrapper(args.model, "sample", families=("gan",))
    noise = np.random.default_rng(args.seed).standard_normal((args.num, model.latent_dim))
    images = model.primary_generator().predict(noise.astype("float32"), verbose=0)
    print(save_image_grid(images, args.out))
    return 0
