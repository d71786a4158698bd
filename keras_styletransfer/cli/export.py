"""`keras-styletransfer export`: a trained generator as a SavedModel for TensorFlow Serving.

    keras-styletransfer export --model RUN/final.keras --out exported [--name NAME] \\
        [--version N] [--direction AB|BA] [--styles a,b,c] [--max-pixels N] [--overwrite] \\
        [--no-verify]

Writes `OUT/NAME/VERSION/` (TF Serving's layout), prints its signatures, then loads it back and
checks every signature against the Keras generator (skip with `--no-verify`).
"""

from __future__ import annotations


def _non_negative_int(text):
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {value}")
    return value


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
        type=_non_negative_int,
        default=None,
        help="version folder (defaults to the next free integer, 1 at first)",
    )
    parser.add_argument(
        "--direction", choices=("AB", "BA"), default="AB", help="CycleGAN: A->B or B->A"
    )
    parser.add_argument(
        "--styles",
        default=None,
        help="comma-separated names of a multi-style generator's style slots, in index order "
        "(defaults to the names saved with the model)",
    )
    parser.add_argument(
        "--max-pixels",
        type=_non_negative_int,
        default=None,
        help="largest height * width a request may send (default 2048 * 2048)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing version")
    parser.add_argument(
        "--no-verify", action="store_true", help="skip checking the signatures after writing"
    )
    parser.set_defaults(handler=run)


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
    from keras_styletransfer.errors import InputError
    from keras_styletransfer.serving.export import (
        DEFAULT_MAX_PIXELS,
        export_generator,
        resolve_generator,
        verification_sample,
        verify_export,
    )

    if args.max_pixels is not None and args.max_pixels < 1:
        raise InputError(f"--max-pixels must be at least 1; received {args.max_pixels}.")
    styles = None
    if args.styles:
        styles = [s.strip() for s in args.styles.split(",")]
        if not all(styles):
            raise InputError(f"--styles takes names separated by commas; received {args.styles!r}.")
    generator, carried_names, default_name = resolve_generator(args.model, args.direction)
    result = export_generator(
        generator,
        args.out,
        name=args.name or default_name,
        version=args.version,
        style_names=styles or carried_names,
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
        result.path, generator, verification_sample(generator), style_names=result.style_names
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
