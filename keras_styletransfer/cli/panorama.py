"""`keras-styletransfer panorama`: stitch overlapping photos and stylise the panorama as one.

    keras-styletransfer panorama IMG1 IMG2 ... [--model M.keras] [--style S | --blend a=.3,b=.7]
        [--strength .7] [--out panorama.png] [--mode auto|panorama|scans] [--stitched FILE]

OpenCV's stitcher joins the photos (`serving.panorama`: PANORAMA mode, SCANS as the fallback;
every photo must be placed), the empty warp border is cropped, and the tiled `Stylizer` stylises
the whole picture, so no seam follows the photos' or the tiles' borders. Without --model, the
multi-style model shipped with the package is used.
"""

from __future__ import annotations

import os

from keras_styletransfer.cli.common import (
    add_direction_argument,
    add_overwrite_argument,
    add_strength_argument,
    add_tile_argument,
    examples,
    load_tensorflow,
    name_weights,
)
from keras_styletransfer.errors import InputError


def add_command(commands):
    """Add the `panorama` sub-command to the CLI's sub-parsers."""
    parser = commands.add_parser(
        "panorama",
        help="stitch overlapping photos into a panorama and stylise it",
        epilog=examples(
            "panorama left.jpg middle.jpg right.jpg --style ink --out pano.png",
            "panorama scans/*.png --mode scans --model run/final.keras --out pano.png "
            "--stitched photo.png",
        ),
    )
    parser.add_argument("photos", nargs="+", help="two or more overlapping photos, any order")
    parser.add_argument(
        "--model",
        default=None,
        help="a .keras file: a trained model or generator (default: the shipped multi-style "
        "model; then --style or --blend is needed)",
    )
    parser.add_argument(
        "--out", default="panorama.png", help="the stylised panorama (default: panorama.png)"
    )
    parser.add_argument(
        "--stitched", default=None, help="also write the stitched photo, before stylising"
    )
    add_overwrite_argument(parser, help="replace existing output files")
    parser.add_argument("--style", default=None, help="style name (multi-style models)")
    parser.add_argument(
        "--blend",
        type=name_weights("--blend"),
        default=None,
        help="style weights, e.g. 'pencil=0.3,cartoon=0.7' (multi-style models)",
    )
    add_strength_argument(parser)
    add_direction_argument(parser)
    parser.add_argument(
        "--mode",
        choices=("auto", "panorama", "scans"),
        default="auto",
        help="auto (default): a turning camera (panorama), then flat scenes / sideways motion "
        "(scans)",
    )
    add_tile_argument(parser, "the panorama is")
    parser.set_defaults(handler=run)
    return parser


def run(args):
    """Stitch, stylise, write; returns the exit status."""
    from keras_styletransfer.files import check_output_file
    from keras_styletransfer.validation import check_strength

    if args.style and args.blend:
        raise InputError("pass --style or --blend, not both.")
    strength = check_strength(args.strength)
    style = args.blend or args.style
    if len(args.photos) < 2:
        raise InputError("a panorama needs at least two overlapping photos.")
    for photo in args.photos:
        if not os.path.isfile(photo):
            raise InputError(f"photo {photo!r} not found.")
    inputs = (*args.photos, args.model)
    for path in (args.out, args.stitched):
        if path is not None:
            check_output_file(path, inputs=inputs, overwrite=args.overwrite)
    if args.stitched and os.path.abspath(args.stitched) == os.path.abspath(args.out):
        raise InputError("--stitched and --out name the same file; give two names.")
    load_tensorflow(args)
    from keras_styletransfer.images import save_png
    from keras_styletransfer.models.loading import parts_of
    from keras_styletransfer.serving.inference import Stylizer, read_image_file
    from keras_styletransfer.serving.panorama import stitch, stylize_panorama

    if args.model is None:
        from keras_styletransfer.serving.pretrained import load_pretrained, pretrained_card

        if style is None:
            styles = ", ".join(pretrained_card()["styles"])
            raise InputError(
                f"the shipped model renders several styles; choose one with --style ({styles}) "
                "or mix them with --blend, or pass your own --model."
            )
        generator, style_names = load_pretrained()
    else:
        parts = parts_of(args.model, args.direction)
        if parts.family == "gan":
            raise InputError(f"{args.model!r} holds a noise GAN; use `sample`, not `panorama`.")
        generator, style_names = parts.generator, parts.style_names
    photos = [read_image_file(path) for path in args.photos]
    panorama, mode = stitch(photos, args.mode)
    stylizer = Stylizer(generator, style_names, max_tile_pixels=args.max_tile_pixels)
    stylised = stylize_panorama(stylizer, panorama, style, strength)
    if args.stitched:
        save_png(panorama, args.stitched)
    save_png(stylised, args.out)
    height, width = stylised.shape[:2]
    print(
        f"stitched {len(photos)} photos ({mode} mode) into {width}x{height} pixels and "
        f"stylised it into {args.out}"
        + (f"; stitched photo {args.stitched}" if args.stitched else "")
    )
    return 0
