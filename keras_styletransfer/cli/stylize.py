"""`keras-styletransfer stylize`: stylise image and video files with a trained model.

    keras-styletransfer stylize [--model M.keras] [--style S | --blend a=.3,b=.7] [--strength .7]
        INPUT... [--out DIR] [--temporal flow|none] [--temporal-weight 0.6] [--max-frames N]

Without --model, the multi-style model shipped with the package is used
(`serving.pretrained`); --out defaults to ./stylized.

Writes one PNG per readable image, at its own size, and a contact sheet; one video per video file
(.mp4 .avi .mov .mkv, given or found in a folder given: same size, frame rate and container,
stylised by `serving.video`, with optical-flow temporal smoothing unless `--temporal none`), and
prints each video's flicker.
"""

from __future__ import annotations

import os

from keras_styletransfer.cli.common import (
    add_direction_argument,
    add_overwrite_argument,
    add_strength_argument,
    add_tile_argument,
    add_video_arguments,
    check_video_arguments,
    examples,
    load_tensorflow,
    name_weights,
    output_names,
    positive_int,
    render_video,
    split_videos,
    video_output_names,
)
from keras_styletransfer.errors import InputError


def add_command(commands):
    """Add the `stylize` sub-command to the CLI's sub-parsers."""
    parser = commands.add_parser(
        "stylize",
        help="stylise image and video files with a trained model",
        epilog=examples(
            "stylize --style ink photo.jpg holiday/ --out stylized",
            "stylize --model run/final.keras clip.mp4 --out stylized",
            "stylize --blend pencil=0.3,watercolour=0.7 --strength 0.8 --temporal none clip.mp4",
        ),
    )
    parser.add_argument(
        "inputs",
        nargs="+",
        help="image files, video files (.mp4 .avi .mov .mkv), and folders of them",
    )
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
    add_tile_argument(parser)
    add_video_arguments(parser, "stylise")
    parser.set_defaults(handler=run)
    return parser


def _stylize_images(stylizer, images, style, strength, batch_size):
    """Every image stylised, in chunks of `batch_size` behind one progress bar."""
    from keras_styletransfer.cli.common import progress

    chunks = [images[i : i + batch_size] for i in range(0, len(images), batch_size)]
    outputs = []
    for chunk in progress(chunks, description="stylize", enabled=len(chunks) > 1):
        outputs.extend(stylizer(chunk, style=style, strength=strength))
    return outputs


def run(args):
    """Stylise every readable input; write the outputs and a contact sheet."""
    from keras_styletransfer.validation import check_strength

    if args.style and args.blend:
        raise InputError("pass --style or --blend, not both.")
    strength = check_strength(args.strength)
    style = args.blend or args.style
    check_video_arguments(args)
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
    videos, image_inputs = split_videos(args.inputs)
    paths, images, skipped = collect_inputs(image_inputs) if image_inputs else ([], [], [])
    used = set()
    names = output_names(paths, used)
    video_names = video_output_names(videos, used)
    sheet_name = ("contact_sheet.png",) if images else ()
    check_output_folder(
        args.out,
        inputs=(*paths, *videos, model_file),
        writes=(*names, *video_names, *sheet_name),
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
    if images:
        outputs = _stylize_images(stylizer, images, style, strength, args.batch_size)
        for name, output in zip(names, outputs, strict=True):
            save_png(to_uint8(output), os.path.join(args.out, name))
        pairs = [(image, to_uint8(o)) for image, o in zip(images, outputs, strict=True)]
        sheet_path = save_png(contact_sheet(pairs), os.path.join(args.out, "contact_sheet.png"))
        print(f"stylised {len(outputs)} image(s) into {args.out}; contact sheet {sheet_path}")
    if skipped:
        print(f"skipped {len(skipped)} unreadable file(s), e.g. {skipped[0][0]} ({skipped[0][1]})")
    for path, name in zip(videos, video_names, strict=True):
        render_video(
            lambda frames: stylizer(frames, style=style, strength=strength),
            path,
            os.path.join(args.out, name),
            args,
            "stylize",
            "stylised",
        )
    return 0
