"""`keras-styletransfer explain`: attribution maps and a report for a trained model's outputs."""

from __future__ import annotations

import os

METHOD_NAMES = (
    "saliency",
    "gradient_x_input",
    "smoothgrad",
    "integrated_gradients",
    "grad_cam",
    "patch_map",
)


def add_command(commands):
    """Add the `explain` sub-command to the CLI's sub-parsers."""
    parser = commands.add_parser(
        "explain",
        help="explain a trained model's verdicts: attribution overlays and a report per image",
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    parser.add_argument("--model", required=True, help="a .keras file of a trained wrapper")
    parser.add_argument("--method", default="integrated_gradients", help=", ".join(METHOD_NAMES))
    parser.add_argument("--target", default="realness", help="realness, style, edit, cycle, ...")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--layer", default=None, help="layer for grad_cam / the unit target")
    parser.add_argument("--style", default=None, help="style name of a multi-style model")
    parser.add_argument("--steps", type=int, default=32, help="integrated-gradients steps")
    parser.add_argument("--size", type=int, default=64, help="images are resized to SIZE x SIZE")
    parser.set_defaults(handler=run)


def _load(path):
    from keras_styletransfer.models.loading import require_wrapper

    return require_wrapper(path, "explain", families=("pix2pix", "cyclegan", "multistyle"))


def run(args):
    """Explain every input image; write overlays, report.png and report.html per image."""
    import numpy as np

    from keras_styletransfer.errors import InputError
    from keras_styletransfer.explain.attribution import METHODS
    from keras_styletransfer.explain.report import explanation_report
    from keras_styletransfer.explain.targets import TARGETS
    from keras_styletransfer.serving.inference import collect_inputs

    if args.method not in METHODS:
        raise InputError(f"Unknown method {args.method!r}. Valid methods: {', '.join(METHODS)}.")
    if args.target not in TARGETS:
        raise InputError(f"Unknown target {args.target!r}. Valid targets: {', '.join(TARGETS)}.")
    if args.steps < 1:
        raise InputError(f"--steps must be >= 1; received {args.steps}.")
    model = _load(args.model)
    paths, images, skipped = collect_inputs(args.inputs)
    import cv2

    size = args.size
    for path, reason in skipped:
        print(f"skipped {path}: {reason}")
    for path, image in zip(paths, images, strict=True):
        resized = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
        batch = (resized.astype(np.float32) / 127.5 - 1.0)[None]
        name = os.path.splitext(os.path.basename(path))[0]
        out_dir = os.path.join(args.out, name)
        result = explanation_report(
            model,
            images=batch,
            out_dir=out_dir,
            methods=(args.method,),
            target=args.target,
            layer_name=args.layer,
            style=args.style,
            steps=args.steps,
            names=[name],
        )
        print(f"{path}: {args.target} = {result['scores'][0]:.4f} -> {result['sheet']}")
    return 0
