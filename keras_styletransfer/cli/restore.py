"""`keras-styletransfer restore`: restore photos with a model from `train-restore`, at full size.

    keras-styletransfer restore --task denoise --model RUN/final.keras INPUT... [--out DIR]
        [--baseline] [--degrade [--seed N]]

Writes `<stem>.png` per readable input at its own size (tiled, with blended seams, above
`--max-tile-pixels`) and a contact sheet. `--baseline` also writes the classical restoration
(`<stem>_baseline.png`: bicubic, non-local means, unsharp masking, the gray copy).
`--degrade` first applies the task's exact degradation to each input (`<stem>_degraded.png`),
then restores it and prints PSNR / SSIM of the degraded, restored and baseline images against
the original: a check of the model on your own photos.
"""

from __future__ import annotations

import os

from keras_styletransfer.cli.common import (
    add_overwrite_argument,
    add_tile_argument,
    examples,
    output_names,
    positive_int,
    seed_int,
)
from keras_styletransfer.errors import InputError


def add_command(commands):
    """Add the `restore` sub-command to the CLI's sub-parsers."""
    parser = commands.add_parser(
        "restore",
        help="restore photos (colourise, denoise, super-resolve, deblur) with a train-restore "
        "model",
        epilog=examples(
            "restore --task denoise --model saved_models/restore/final.keras photo.jpg",
            "restore --task sr2 --model M.keras photos/ --out restored --baseline",
            "restore --task deblur --model M.keras photo.jpg --degrade --seed 3",
        ),
    )
    parser.add_argument("inputs", nargs="+", help="image files and/or folders of images")
    parser.add_argument(
        "--task", required=True, help="colourise, denoise, sr2, sr4 or deblur (one the model has)"
    )
    parser.add_argument(
        "--model", required=True, help="a .keras file from train-restore (final.keras)"
    )
    parser.add_argument("--out", default="restored", help="output folder (default: restored)")
    add_overwrite_argument(parser, help="replace files an earlier restore left in --out")
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="also write the classical restoration of each input (<stem>_baseline.png)",
    )
    parser.add_argument(
        "--degrade",
        action="store_true",
        help="degrade each input with the task's exact degradation first, then score the "
        "restoration against the original (PSNR / SSIM)",
    )
    parser.add_argument(
        "--seed", type=seed_int, default=0, help="seed of --degrade's noise (default 0)"
    )
    parser.add_argument("--batch-size", type=positive_int, default=4)
    add_tile_argument(parser)
    parser.set_defaults(handler=run)
    return parser


def _written_names(stems, args):
    names = []
    for stem in stems:
        names.append(f"{stem}.png")
        if args.baseline or args.degrade:
            names.append(f"{stem}_baseline.png")
        if args.degrade:
            names.append(f"{stem}_degraded.png")
    return [*names, "contact_sheet.png"]


def run(args):
    """Restore every readable input; write the outputs and a contact sheet."""
    from keras_styletransfer.files import check_output_folder

    if not os.path.isfile(args.model):
        raise InputError(f"--model {args.model!r} is not a file; pass a train-restore .keras file.")
    check_output_folder(args.out, overwrite=args.overwrite)
    from keras_styletransfer.cli.common import load_tensorflow

    load_tensorflow(args)
    from keras_styletransfer.data.restoration import TASKS, baseline, degrade, quality, task_name
    from keras_styletransfer.images import save_png, to_uint8
    from keras_styletransfer.models.loading import parts_of
    from keras_styletransfer.serving.inference import Stylizer, collect_inputs, contact_sheet

    task = task_name(args.task)
    paths, images, skipped = collect_inputs(args.inputs)
    stems = output_names(paths, suffix="")
    check_output_folder(
        args.out,
        inputs=(*paths, args.model),
        writes=_written_names(stems, args),
        overwrite=args.overwrite,
    )
    parts = parts_of(args.model)
    names = list(parts.style_names or [])
    if parts.family != "multistyle_paired" or not set(names) <= set(TASKS):
        raise InputError(
            f"{args.model!r} is not a restoration model (its family is {parts.family}, its "
            f"styles {', '.join(names) or 'none'}); train one with `train-restore`."
        )
    if task not in names:
        raise InputError(
            f"{args.model!r} was trained for {', '.join(names)}, not {task}; pass one of "
            "those with --task, or train a model for it."
        )
    originals = images
    if args.degrade:
        images = [degrade(image, task, [args.seed, i]) for i, image in enumerate(originals)]
    stylizer = Stylizer(
        parts.generator, names, batch_size=args.batch_size, max_tile_pixels=args.max_tile_pixels
    )
    restored = [to_uint8(output) for output in stylizer(images, style=task, verbose=1)]
    rows = []
    for index, (stem, image, output) in enumerate(zip(stems, images, restored, strict=True)):
        save_png(output, os.path.join(args.out, f"{stem}.png"))
        row = [image, output]
        if args.baseline or args.degrade:
            classical = baseline(task, image)
            save_png(classical, os.path.join(args.out, f"{stem}_baseline.png"))
            row.append(classical)
        if args.degrade:
            save_png(image, os.path.join(args.out, f"{stem}_degraded.png"))
            clean = originals[index]
            scores = [quality(clean, x) for x in (image, output, classical)]
            print(
                f"{stem}: {task} PSNR / SSIM against the original: degraded "
                f"{scores[0][0]:.2f} dB / {scores[0][1]:.3f}, model {scores[1][0]:.2f} dB / "
                f"{scores[1][1]:.3f}, baseline {scores[2][0]:.2f} dB / {scores[2][1]:.3f}"
            )
            row.append(clean)
        rows.append(tuple(row))
    sheet_path = save_png(contact_sheet(rows), os.path.join(args.out, "contact_sheet.png"))
    print(f"restored {len(restored)} image(s) ({task}) into {args.out}; contact sheet {sheet_path}")
    if skipped:
        print(f"skipped {len(skipped)} unreadable file(s), e.g. {skipped[0][0]} ({skipped[0][1]})")
    return 0
