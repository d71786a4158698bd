"""`keras-styletransfer fine-tune`: a trained model learns a new style from a few images.

    keras-styletransfer fine-tune --model saved_models/pix2pix_pencil/final.keras \\
        --style watercolour --train decoder|all|last:K|gradual --steps 200 --images 8 \\
        --out saved_models/finetune_watercolour [--compare-scratch]
"""

from __future__ import annotations

from keras_styletransfer.cli.common import (
    add_deterministic_argument,
    add_overwrite_argument,
    examples,
    hold_run_dir,
    keras_verbose,
    load_tensorflow,
    positive_int,
    seed_int,
    steps_int,
)


def add_command(commands):
    """Add the `fine-tune` sub-command to the CLI's sub-parsers."""
    parser = commands.add_parser(
        "fine-tune",
        help="fine-tune a trained pix2pix / CycleGAN / CUT model on a new style with few images",
        epilog=examples(
            "fine-tune --model saved_models/pix2pix_pencil/final.keras --style watercolour"
            " --train decoder --steps 300 --images 8 --out saved_models/pencil_to_watercolour"
        ),
    )
    parser.add_argument(
        "--model", required=True, help="final.keras of a train-style run, or a generator .keras"
    )
    parser.add_argument(
        "--discriminator",
        default=None,
        help="with a generator alone: its conditional discriminator .keras (else a fresh one)",
    )
    parser.add_argument(
        "--style", required=True, help="watercolour, cartoon, pencil, ink, oil or detail"
    )
    parser.add_argument(
        "--train",
        default="decoder",
        help="generator layers that train: all, decoder, last:K or gradual (default decoder)",
    )
    parser.add_argument("--steps", type=steps_int, default=200)
    parser.add_argument("--images", type=positive_int, default=8, help="training images")
    parser.add_argument("--batch-size", type=positive_int, default=4)
    parser.add_argument("--learning-rate", type=float, default=2e-4)
    parser.add_argument(
        "--image-size", type=positive_int, default=None, help="defaults to the source run's"
    )
    parser.add_argument("--steps-per-epoch", type=steps_int, default=None)
    parser.add_argument(
        "--unfreeze-every", type=positive_int, default=1, help="gradual: epochs per block"
    )
    parser.add_argument("--out", required=True, help="run directory to write")
    add_overwrite_argument(
        parser, help="discard what a finished or interrupted run left in --out and start again"
    )
    parser.add_argument("--seed", type=seed_int, default=0)
    parser.add_argument(
        "--compare-scratch",
        action="store_true",
        help="also train the same architecture from random weights, same images and steps",
    )
    add_deterministic_argument(parser)
    parser.set_defaults(handler=run)
    return parser


def _print_entry(label, style, parts):
    for part, m in parts.items():
        print(
            f"  {label:18s} {style:12s} held-out {part:6s} SSIM {m['ssim']:.3f} (photo "
            f"unchanged {m['baseline_ssim']:.3f}), PSNR {m['psnr']:.2f} dB (photo unchanged "
            f"{m['baseline_psnr']:.2f} dB)"
        )


def run(args):
    """Fine-tune, write the run directory, print the held-out scores."""
    from keras_styletransfer.training.checks import check_run_dir

    # Neither another run's folder nor the source model's, before any work.
    inputs = (args.model, args.discriminator)
    check_run_dir(None, args.out, args.overwrite, inputs)
    load_tensorflow(args)  # training.freezing, which reads --train, needs Keras
    from keras_styletransfer.training.fine_tune import fine_tune, parse_train_policy

    parse_train_policy(args.train)  # a bad policy fails before a model loads
    hold_run_dir(None, args.out, args.overwrite, inputs)  # locked until the process ends
    result = fine_tune(
        args.model,
        args.style,
        train_policy=args.train,
        steps=args.steps,
        images=args.images,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        image_size=args.image_size,
        steps_per_epoch=args.steps_per_epoch,
        unfreeze_every=args.unfreeze_every,
        discriminator=args.discriminator,
        run_dir=args.out,
        seed=args.seed,
        compare_scratch=args.compare_scratch,
        deterministic=args.deterministic,
        overwrite=args.overwrite,
        verbose=keras_verbose(),
    )
    metrics = result.metrics
    print(
        f"\nfine-tuned {metrics['trainable_parameters']:,} of {metrics['generator_parameters']:,} "
        f"generator weights ({metrics['train_policy']}) for {metrics['steps']} steps on "
        f"{metrics['images']} images in {result.seconds:.1f} s. Outputs in {args.out}."
    )
    style = metrics["style"]
    _print_entry("before", style, metrics["before_fine_tuning"][style])
    _print_entry("fine-tuned", style, metrics["styles"][style])
    if "scratch" in metrics:
        _print_entry("from scratch", style, metrics["scratch"]["styles"][style])
    return 0
