"""`keras-styletransfer stylize`: stylise image files with a trained image-to-image model.

    keras-styletransfer stylize [--model M.keras] [--style S | --blend a=.3,b=.7] [--strength .7]
        INPUT... [--out DIR]

Without --model, the multi-style model shipped with the package is used
(`serving.pretrained`); --out defaults to ./stylized.

Writes one PNG per readable input, at its own size, and a contact sheet.
"""

from __future__ import annotations

import os

from keras_styletransfer.cli.common import (
    add_direction_argument,
    add_overwrite_argument,
    add_strength_argument,
    load_tensorflow,
    name_weights,
    positive_int,
)
from keras_styletransfer.errors import InputError


def add_command(commands):
    """Add the `stylize` sub-command to the CLI's sub-parsers."""
    parser = commands.add_parser("stylize", help="stylise image files with a trained model")
    parser.add_argument("inputs", nargs="+", help="image files and/or folders of images")
    parser.add_argument(
        "--model",
        default=None,
        help="a .keras file: a trained model or generator (default: the multi-style model "
        "shipped with the package; then --style or --blend is needed)",
    )
    parser.add_argument("--out", default="stylized", help="output folder (default: stylized)")
    add_overwrite_argument(parser, help="replace files an earlier stylize left in --out")
    parser.add_argument("--style", default=None, help="style name (multi-style models)")
    parser.add_argument(
        "--blend",
        type=name_weights("--blend"),
        default=None,
        help="style weights, e.g. 'pencil=0.3,cartoon=0.7' (multi-style models)",
    )
    add_strength_argument(parser)
    add_direction_argument(parser)
    parser.add_argument("--batch-size", type=positive_int, default=4)
    parser.add_argument(
        "--max-tile-pixels",
        type=positive_int,
        default=512 * 512,
        help="larger images are processed in blended tiles of about this many pixels",
    )
    parser.set_defaults(handler=run)
    return parser


def _output_names(paths):
    """`<stem>.png` per input path; `<stem>_2.png`, ... for repeated stems (other folders)."""
    names, used = [], set()
    for path in paths:
        stem = os.path.splitext(os.path.basename(path))[0]
        name, counter = f"{stem}.png", 1
        while name in used:
            counter += 1
            name = f"{stem}_{counter}.png"
        used.add(name)
        names.append(name)
    return names


def run(args):
    """Stylise every readable input; write the outputs and a contact sheet."""
    from keras_styletransfer.validation import check_strength

    if args.style and args.blend:
        raise InputError("pass --style or --blend, not both.")
    strength = check_strength(args.strength)
    style = args.blend or args.style
    from keras_styletransfer.files import check_output_folder

    check_output_folder(args.out, overwrite=args.overwrite)  # a file, a model's folder, read-only
    load_tensorflow(args)
    from keras_styletransfer.images import save_png, to_uint8
    from keras_styletransfer.models.loading import parts_of
    from keras_styletransfer.serving.inference import Stylizer, collect_inputs, contact_sheet

    model_file = args.model
    if model_file is None:
        from keras_styletransfer.serving.pretrained import pretrained_card, pretrained_files

        model_file = pretrained_files()[0]
        if style is None:
            styles = ", ".join(pretrained_card()["styles"])
            raise InputError(
                f"the shipped model renders several styles; choose one with --style ({styles}) "
                "or mix them with --blend, or pass your own --model."
            )
    paths, images, skipped = collect_inputs(args.inputs)
    names = _output_names(paths)
    check_output_folder(
        args.out,
        inputs=(*paths, model_file),
        writes=(*names, "contact_sheet.png"),
        overwrite=args.overwrite,
    )
    if args.model is None:
        from keras_styletransfer.serving.pretrained import load_pretrained

        generator, style_names = load_pretrained()
    else:
        parts = parts_of(args.model, args.direction)
        if parts.family == "gan":
            raise InputError(f"{args.model!r} holds a noise GAN; use `sample`, not `stylize`.")
        generator, style_names = parts.generator, parts.style_names
    stylizer = Stylizer(
        generator,
        style_names,
        batch_size=args.batch_size,
        max_tile_pixels=args.max_tile_pixels,
    )
    outputs = stylizer(images, style=style, strength=strength, verbose=1)

    for name, output in zip(names, outputs, strict=True):
        save_png(to_uint8(output), os.path.join(args.out, name))
    sheet = contact_sheet([(image, to_uint8(o)) for image, o in zip(images, outputs, strict=True)])
    sheet_path = save_png(sheet, os.path.join(args.out, "contact_sheet.png"))
    print(f"stylised {len(outputs)} image(s) into {args.out}; contact sheet {sheet_path}")
    if skipped:
        print(f"skipped {len(skipped)} unreadable file(s), e.g. {skipped[0][0]} ({skipped[0][1]})")
    return 0
