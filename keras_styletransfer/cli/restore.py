"""`keras-styletransfer restore`: restore photos and videos with a model from `train-restore`.

    keras-styletransfer restore --task denoise --model RUN/final.keras INPUT... [--out DIR]
        [--baseline] [--degrade [--seed N]] [--temporal flow|none] [--temporal-weight 0.6]
        [--max-frames N]

Writes `<stem>.png` per readable image at its own size (tiled, with blended seams, above
`--max-tile-pixels`) and a contact sheet. `--baseline` also writes the classical restoration
(`<stem>_baseline.png`: bicubic, non-local means, unsharp masking, the gray copy).
`--degrade` first applies the task's exact degradation to each input (`<stem>_degraded.png`),
then restores it and prints PSNR / SSIM of the degraded, restored and baseline images against
the original: a check of the model on your own photos.

Video files (.mp4 .avi .mov .mkv, given or found in a folder given) are restored frame by frame
by `serving.video` as `stylize` stylises them: the same size, frame rate and container, optical-
flow temporal smoothing unless `--temporal none`, and the flicker printed. `--baseline` and
`--degrade` apply per frame (`<stem>_baseline.mp4`, `<stem>_degraded.mp4`; one degradation
variant per video, fresh noise per frame), with the scores averaged over the frames.
"""

from __future__ import annotations

import contextlib
import os

from keras_styletransfer.cli.common import (
    add_overwrite_argument,
    add_tile_argument,
    add_video_arguments,
    check_video_arguments,
    examples,
    output_names,
    positive_int,
    render_video,
    seed_int,
    split_videos,
    video_output_names,
)
from keras_styletransfer.errors import InputError


def add_command(commands):
    """Add the `restore` sub-command to the CLI's sub-parsers."""
    parser = commands.add_parser(
        "restore",
        help="restore photos and videos (colourise, denoise, super-resolve, deblur) with a "
        "train-restore model",
        epilog=examples(
            "restore --task denoise --model saved_models/restore/final.keras photo.jpg",
            "restore --task sr2 --model M.keras photos/ --out restored --baseline",
            "restore --task deblur --model M.keras photo.jpg --degrade --seed 3",
            "restore --task denoise --model M.keras clip.mp4 --out restored --max-frames 48",
        ),
    )
    parser.add_argument(
        "inputs",
        nargs="+",
        help="image files, video files (.mp4 .avi .mov .mkv), and folders of them",
    )
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
        help="also write the classical restoration of each input (<stem>_baseline.png; "
        "videos: <stem>_baseline.mp4, frame by frame)",
    )
    parser.add_argument(
        "--degrade",
        action="store_true",
        help="degrade each input (each video frame) with the task's exact degradation first, "
        "then score the restoration against the original (PSNR / SSIM)",
    )
    parser.add_argument(
        "--seed", type=seed_int, default=0, help="seed of --degrade's noise (default 0)"
    )
    parser.add_argument("--batch-size", type=positive_int, default=4)
    add_tile_argument(parser)
    add_video_arguments(parser, "restore")
    parser.set_defaults(handler=run)
    return parser


def _written_names(name, args):
    """The files restore writes for the input whose output is `name` (`photo.png`, `clip.mp4`)."""
    stem, suffix = os.path.splitext(name)
    names = [name]
    if args.baseline or args.degrade:
        names.append(f"{stem}_baseline{suffix}")
    if args.degrade:
        names.append(f"{stem}_degraded{suffix}")
    return names


def _print_scores(what, task, scores):
    """One line: PSNR / SSIM of the degraded, restored and baseline versions against the
    original (`scores`: their `(psnr, ssim)` pairs, in that order)."""
    parts = [
        f"{label} {psnr:.2f} dB / {ssim:.3f}"
        for label, (psnr, ssim) in zip(("degraded", "model", "baseline"), scores, strict=True)
    ]
    print(f"{what}: {task} PSNR / SSIM against the original: {', '.join(parts)}")


def _restore_video(render, task, path, name, number, args):
    """Restore one video into OUT/NAME; with --baseline / --degrade also the classical
    restoration and the degraded frames, each a video beside it, and the mean scores."""
    import numpy as np

    destination = os.path.join(args.out, name)
    if not (args.baseline or args.degrade):
        return render_video(render, path, destination, args, "restore", "restored")
    from keras_styletransfer.data.restoration import VARIANTS, baseline, degrade, quality
    from keras_styletransfer.serving.video import VideoWriter, video_info

    # One variant per video (a clip is JPEG-compressed or noisy, not each frame in turn); the
    # noise, and a motion blur's angle, are drawn afresh for every frame.
    variants = VARIANTS[task]
    variant = variants[int(np.random.default_rng([args.seed, number]).integers(len(variants)))]
    originals, scores = {}, []

    def prepare(index, frame):
        originals[index] = frame
        return degrade(frame, task, [args.seed, number, index], variant)

    info = video_info(path)
    with contextlib.ExitStack() as stack:
        writers = [
            stack.enter_context(
                VideoWriter(os.path.join(args.out, extra), info.fps, info.width, info.height)
            )
            for extra in _written_names(name, args)[1:]
        ]

        def on_frame(index, frame, output):
            classical = baseline(task, frame)
            writers[0].write(classical)
            if args.degrade:
                writers[1].write(frame)
                clean = originals.pop(index)
                scores.append([quality(clean, x) for x in (frame, output, classical)])

        summary = render_video(
            render,
            path,
            destination,
            args,
            "restore",
            "restored",
            prepare=prepare if args.degrade else None,
            on_frame=on_frame,
        )
    if scores:
        what = f"{path} ({variant}, mean of {len(scores)} frames)"
        _print_scores(what, task, np.mean(scores, axis=0))
    return summary


def run(args):
    """Restore every readable input; write the outputs and a contact sheet."""
    from keras_styletransfer.files import check_output_folder

    if not os.path.isfile(args.model):
        raise InputError(f"--model {args.model!r} is not a file; pass a train-restore .keras file.")
    check_video_arguments(args)
    check_output_folder(args.out, overwrite=args.overwrite)
    from keras_styletransfer.cli.common import load_tensorflow

    load_tensorflow(args)
    from keras_styletransfer.data.restoration import TASKS, baseline, degrade, quality, task_name
    from keras_styletransfer.images import save_png, to_uint8
    from keras_styletransfer.models.loading import parts_of
    from keras_styletransfer.serving.inference import Stylizer, collect_inputs, contact_sheet

    task = task_name(args.task)
    videos, image_inputs = split_videos(args.inputs)
    paths, images, skipped = collect_inputs(image_inputs) if image_inputs else ([], [], [])
    names = output_names(paths)
    video_names = video_output_names(videos)
    writes = [n for name in (*names, *video_names) for n in _written_names(name, args)]
    check_output_folder(
        args.out,
        inputs=(*paths, *videos, args.model),
        writes=[*writes, *(["contact_sheet.png"] if images else [])],
        overwrite=args.overwrite,
    )
    parts = parts_of(args.model)
    style_names = list(parts.style_names or [])
    if parts.family != "multistyle_paired" or not set(style_names) <= set(TASKS):
        raise InputError(
            f"{args.model!r} is not a restoration model (its family is {parts.family}, its "
            f"styles {', '.join(style_names) or 'none'}); train one with `train-restore`."
        )
    if task not in style_names:
        raise InputError(
            f"{args.model!r} was trained for {', '.join(style_names)}, not {task}; pass one of "
            "those with --task, or train a model for it."
        )
    stylizer = Stylizer(
        parts.generator,
        style_names,
        batch_size=args.batch_size,
        max_tile_pixels=args.max_tile_pixels,
    )
    if images:
        originals = images
        if args.degrade:
            images = [degrade(image, task, [args.seed, i]) for i, image in enumerate(originals)]
        restored = [to_uint8(output) for output in stylizer(images, style=task, verbose=1)]
        rows = []
        for index, (name, image, output) in enumerate(zip(names, images, restored, strict=True)):
            written = [os.path.join(args.out, n) for n in _written_names(name, args)]
            save_png(output, written[0])
            row = [image, output]
            if args.baseline or args.degrade:
                classical = baseline(task, image)
                save_png(classical, written[1])
                row.append(classical)
            if args.degrade:
                save_png(image, written[2])
                clean = originals[index]
                scores = [quality(clean, x) for x in (image, output, classical)]
                _print_scores(os.path.splitext(name)[0], task, scores)
                row.append(clean)
            rows.append(tuple(row))
        sheet_path = save_png(contact_sheet(rows), os.path.join(args.out, "contact_sheet.png"))
        print(
            f"restored {len(restored)} image(s) ({task}) into {args.out}; contact sheet "
            f"{sheet_path}"
        )
    if skipped:
        print(f"skipped {len(skipped)} unreadable file(s), e.g. {skipped[0][0]} ({skipped[0][1]})")
    for number, (path, name) in enumerate(zip(videos, video_names, strict=True)):
        _restore_video(lambda frames: stylizer(frames, style=task), task, path, name, number, args)
    return 0
