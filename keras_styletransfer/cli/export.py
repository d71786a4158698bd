"""`keras-styletransfer export`: a trained generator as a SavedModel for TensorFlow Serving.

    keras-styletransfer export --model RUN/final.keras --out exported [--name NAME] \\
        [--version N] [--direction AB|BA] [--styles a,b,c] [--max-pixels N] [--overwrite] \\
        [--no-verify]

Writes `OUT/NAME/VERSION/` (TF Serving's layout, readable by every user), prints its signatures,
then loads it back and checks every signature against the Keras generator (skip with
`--no-verify`).
"""

from __future__ import annotations

import os

from keras_styletransfer.cli.common import (
    add_direction_argument,
    add_overwrite_argument,
    comma_separated,
    load_tensorflow,
    non_negative_int,
    positive_int,
)
from keras_styletransfer.errors import InputError


def add_command(commands):
    """Add the `export` sub-command to the CLI's sub-parsers."""
    parser = commands.add_parser(
        "export", help="export a trained generator as a SavedModel for TensorFlow Serving"
    )
    parser.add_argument(
        "--model",
        required=True,
        help="a .keras file: a trained model (GAN, pix2pix, CycleGAN, multi-style) or a generator",
    )
    parser.add_argument("--out", required=True, help="base folder; writes OUT/NAME/VERSION/")
    parser.add_argument(
        "--name", default=None, help="TF Serving model name (defaults to the model's name)"
    )
    parser.add_argument(
        "--version",
        type=non_negative_int,
        default=None,
        help="version folder (defaults to the next free integer, 1 at first)",
    )
    add_direction_argument(parser)
    parser.add_argument(
        "--styles",
        type=comma_separated("--styles"),
        default=None,
        help="comma-separated names of a multi-style generator's style slots, in index order "
        "(defaults to the names saved with the model)",
    )
    parser.add_argument(
        "--max-pixels",
        type=positive_int,
        default=None,
        help="largest height * width a request may send (default 2048 * 2048)",
    )
    add_overwrite_argument(parser, help="replace an existing version")
    parser.add_argument(
        "--no-verify", action="store_true", help="skip checking the signatures after writing"
    )
    parser.set_defaults(handler=run)
    return parser


def _format_spec(spec):
    shape = (
        "any shape"
        if spec["shape"] is None
        else "(" + ", ".join("?" if size is None else str(size) for size in spec["shape"]) + ")"
    )
    return f"{spec['dtype']} {shape}"


def describe_signatures(signatures):
    """Lines `name: input dtype shape, ... -> output dtype shape` for printing."""
    lines = []
    for name, parts in signatures.items():
        inputs = ", ".join(f"{k} {_format_spec(v)}" for k, v in parts["inputs"].items())
        outputs = ", ".join(f"{k} {_format_spec(v)}" for k, v in parts["outputs"].items())
        lines.append(f"  {name}: {inputs} -> {outputs}")
    return lines


def run(args):
    """Export, print the signatures, and verify them; returns the exit status."""
    from keras_styletransfer.files import check_writable

    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise InputError(f"--out {args.out!r} is a file; name the base folder of the exports.")
    check_writable(args.out)  # before the work: a read-only or full location
    load_tensorflow(args)
    from keras_styletransfer.models.loading import parts_of
    from keras_styletransfer.serving.export import DEFAULT_MAX_PIXELS, export_generator
    from keras_styletransfer.serving.verification import verification_sample, verify_export

    parts = parts_of(args.model, args.direction)
    result = export_generator(
        parts.model,
        args.out,
        name=args.name,
        version=args.version,
        direction=args.direction,
        style_names=args.styles,
        max_pixels=args.max_pixels or DEFAULT_MAX_PIXELS,
        overwrite=args.overwrite,
    )
    print(
        f"exported {result.kind} generator to {result.path} "
        f"(TF Serving model name {result.name!r}, version {result.version})"
    )
    if result.style_names:
        print("  style indices: " + ", ".join(f"{i}={n}" for i, n in enumerate(result.style_names)))
    print("signatures:")
    print("\n".join(describe_signatures(result.signatures)))
    if args.no_verify:
        return 0
    checks = verify_export(
        result.path,
        parts.generator,
        verification_sample(parts.generator),
        style_names=result.style_names,
    )
    passed = checks.pop("passed")
    for name, check in checks.items():
        print(
            f"  verified {name}: max difference {check['max_difference']:.3g} "
            f"(limit {check['limit']:g}) {'ok' if check['passed'] else 'FAILED'}"
        )
    if not passed:
        print("verification FAILED: the SavedModel does not reproduce the Keras generator.")
        return 1
    return 0
