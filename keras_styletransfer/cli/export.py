"""`keras-styletransfer export`: a trained generator as a SavedModel for TensorFlow Serving, or
as a TensorFlow Lite file for phones and small devices.

    keras-styletransfer export --model RUN/final.keras --out exported [--name NAME] \\
        [--version N] [--direction AB|BA] [--styles a,b,c] [--max-pixels N] [--overwrite] \\
        [--no-verify]
    keras-styletransfer export --format tflite --quantize float16|float32|int8 [--size 256] \\
        --model RUN/final.keras --out exported [--name NAME]

SavedModel: writes `OUT/NAME/VERSION/` (TF Serving's layout, readable by every user), prints its
signatures, then loads it back and checks every signature against the Keras generator (skip with
`--no-verify`). TFLite: writes `OUT/NAME.tflite` and `OUT/NAME.json` (inputs, size, styles), then
runs the file in `tf.lite.Interpreter` and prints its difference from Keras, size and speed.
"""

from __future__ import annotations

import os

from keras_styletransfer.cli.common import (
    ProgressBar,
    add_direction_argument,
    add_overwrite_argument,
    comma_separated,
    examples,
    load_tensorflow,
    non_negative_int,
    positive_int,
)
from keras_styletransfer.errors import InputError


def add_command(commands):
    """Add the `export` sub-command to the CLI's sub-parsers."""
    parser = commands.add_parser(
        "export",
        help="export a trained generator as a SavedModel (TF Serving) or a TFLite file",
        epilog=examples(
            "export --model run/final.keras --out exported",
            "export --format tflite --quantize int8 --size 256 --model run/final.keras "
            "--out exported",
            "export --model run/final.keras --direction BA --out exported --name from_painting",
        ),
    )
    parser.add_argument(
        "--model",
        required=True,
        help="a .keras file: a trained model (GAN, pix2pix, CycleGAN, multi-style) or a generator",
    )
    parser.add_argument(
        "--out",
        required=True,
        help="base folder; writes OUT/NAME/VERSION/ (savedmodel) or OUT/NAME.tflite + .json",
    )
    parser.add_argument(
        "--format",
        choices=("savedmodel", "tflite"),
        default="savedmodel",
        help="savedmodel: TF Serving signatures (default); tflite: one fixed-size signature "
        "of TFLite built-in operators, for phones",
    )
    parser.add_argument(
        "--quantize",
        choices=("float32", "float16", "int8"),
        default=None,
        help="tflite only: float16 (default; half the size, no visible change), float32, "
        "or int8 (dynamic range: a quarter of the size, fastest on CPU, outputs off by ~1-2 "
        "grey levels on average)",
    )
    parser.add_argument(
        "--size",
        default=None,
        help="tflite only: input side (256, the default) or HEIGHTxWIDTH (192x320), multiples "
        "of the generator's stride",
    )
    parser.add_argument(
        "--name",
        default=None,
        help="TF Serving model name or TFLite file stem (defaults to the model's name; "
        "tflite: with _QUANTIZE appended)",
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


def _check_format_options(args):
    """Refuse options of the other format before any work."""
    if args.format == "tflite":
        for option, value in (("--version", args.version), ("--max-pixels", args.max_pixels)):
            if value is not None:
                raise InputError(f"{option} applies to --format savedmodel only; leave it out.")
        if args.size is not None:
            from keras_styletransfer.serving.tflite import parse_size

            parse_size(args.size)
        return
    for option, value in (("--quantize", args.quantize), ("--size", args.size)):
        if value is not None:
            raise InputError(f"{option} applies to --format tflite only; add --format tflite.")


def run_tflite(args):
    """Write OUT/NAME.tflite and its description, then run it against Keras."""
    from keras_styletransfer.models.loading import parts_of
    from keras_styletransfer.serving.inference import generator_kind
    from keras_styletransfer.serving.signatures import safe_name
    from keras_styletransfer.serving.tflite import (
        DEFAULT_QUANTIZATION,
        DEFAULT_SIZE,
        check_size,
        export_tflite,
        verify_tflite,
    )

    quantize = args.quantize or DEFAULT_QUANTIZATION
    parts = parts_of(args.model, args.direction)
    if generator_kind(parts.generator) != "noise":
        check_size(parts.generator, args.size or DEFAULT_SIZE)  # before the progress bar
    name = safe_name(args.name) if args.name else f"{safe_name(parts.name)}_{quantize}"
    with ProgressBar(1 if args.no_verify else 2, "export tflite") as bar:
        result = export_tflite(
            parts.model,
            os.path.join(args.out, f"{name}.tflite"),
            quantize=quantize,
            size=args.size or DEFAULT_SIZE,
            direction=args.direction,
            style_names=args.styles,
            overwrite=args.overwrite,
        )
        bar.update()
        check = None
        if not args.no_verify:
            check = verify_tflite(result.path, parts.generator, result.info)
            bar.update()
    info = result.info
    size = f" at {info['size']['height']}x{info['size']['width']}" if "size" in info else ""
    print(
        f"exported {info['kind']} generator to {result.path} ({info['quantize']}, "
        f"{info['bytes'] / 1e6:.2f} MB{size}); description {result.info_path}"
    )
    print(f"  inputs: {', '.join(info['inputs'])} -> images (float32 in [-1, 1])")
    if info.get("style_names"):
        names = ", ".join(f"{i}={n}" for i, n in enumerate(info["style_names"]))
        print(f"  style indices: {names}")
    if check is None:
        return 0
    print(
        f"  verified in tf.lite.Interpreter: max difference {check['max_difference']:.3g}, "
        f"mean {check['mean_difference']:.3g} (limit {check['limit']:g}) "
        f"{'ok' if check['passed'] else 'FAILED'}; {check['tflite_ms']:.1f} ms per image "
        f"(Keras {check['keras_ms']:.1f} ms)"
    )
    if not check["passed"]:
        print("verification FAILED: the TFLite file does not reproduce the Keras generator.")
        return 1
    return 0


def run(args):
    """Export, print the signatures, and verify them; returns the exit status."""
    from keras_styletransfer.files import check_writable

    _check_format_options(args)
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise InputError(f"--out {args.out!r} is a file; name the base folder of the exports.")
    check_writable(args.out)  # before the work: a read-only or full location
    load_tensorflow(args)
    if args.format == "tflite":
        return run_tflite(args)
    from keras_styletransfer.models.loading import parts_of
    from keras_styletransfer.serving.export import DEFAULT_MAX_PIXELS, export_generator
    from keras_styletransfer.serving.verification import verification_sample, verify_export

    parts = parts_of(args.model, args.direction)  # before the bar: its errors stay one line
    with ProgressBar(1 if args.no_verify else 2, "export") as bar:
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
        bar.update()
        checks = None
        if not args.no_verify:
            checks = verify_export(
                result.path,
                parts.generator,
                verification_sample(parts.generator),
                style_names=result.style_names,
            )
            bar.update()
    print(
        f"exported {result.kind} generator to {result.path} "
        f"(TF Serving model name {result.name!r}, version {result.version})"
    )
    if result.style_names:
        print("  style indices: " + ", ".join(f"{i}={n}" for i, n in enumerate(result.style_names)))
    print("signatures:")
    print("\n".join(describe_signatures(result.signatures)))
    if checks is None:
        return 0
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
