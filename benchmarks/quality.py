"""`make quality`: the README's quality table, reproduced under fixed step budgets.

For every style, a single-style pix2pix model trains for `--steps` steps, and one paired
multi-style model (`multistyle_paired`) trains on all the styles for `--steps` steps per style
(the same per-style budget). Each is scored on the held-out photos against the exact style, at
three views (64-px crops, the whole photo at 256 px, full size tiled), with the unchanged photo
as the baseline. Runs go to `saved_models/quality/<name>` (replaced), the figures to
`benchmarks/results/quality.json`, and `--readme` rewrites the README's table between the
`<!-- quality:start -->` and `<!-- quality:end -->` markers from that file.

    python benchmarks/quality.py [--steps 2000] [--styles watercolour,cartoon,...] [--readme]
    python benchmarks/quality.py --readme-only     # the table from the last results
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys

# Run as a script (`python benchmarks/X.py`): the repository root holds `benchmarks`.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results", "quality.json")
README = os.path.join(ROOT, "README.md")
STYLES = ("watercolour", "cartoon", "pencil", "ink", "oil")
VIEWS = (("crops", "64-px crops"), ("256", "whole photo, 256 px"), ("full", "full size"))
START, END = "<!-- quality:start -->", "<!-- quality:end -->"
FAMILIES = ("pix2pix", "multistyle_paired")


def _train(config, run_dir):
    from keras_styletransfer.training.translation import train_translation

    result = train_translation(config, run_dir, verbose=0)
    return {
        "family": config.family,
        "styles": list(config.styles),
        "steps": config.epochs * config.steps_per_epoch,
        "image_size": config.image_size,
        "training_seconds": round(result.seconds, 1),
        "metrics": result.metrics["styles"],
    }


def run(steps, styles, out_root, seed, mixed_precision="none", families=FAMILIES):
    from keras_styletransfer.config import TranslationConfig

    steps_per_epoch = 100
    epochs = max(1, steps // steps_per_epoch)
    common = dict(
        steps_per_epoch=steps_per_epoch,
        seed=seed,
        deterministic=True,
        learning_rate=1e-3,
        mixed_precision=mixed_precision,
    )
    runs = {}
    for style in styles if "pix2pix" in families else ():
        config = TranslationConfig("pix2pix", styles=(style,), epochs=epochs, **common)
        print(f"pix2pix {style}: {epochs * steps_per_epoch} steps", flush=True)
        runs[f"pix2pix_{style}"] = _train(config, _fresh(out_root, f"pix2pix_{style}"))
    if "multistyle_paired" not in families:
        return runs
    config = TranslationConfig(
        "multistyle_paired", styles=tuple(styles), epochs=epochs * len(styles), **common
    )
    print(f"multistyle_paired {','.join(styles)}: {config.epochs * steps_per_epoch} steps")
    runs["multistyle_paired"] = _train(config, _fresh(out_root, "multistyle_paired"))
    return runs


def _fresh(out_root, name):
    import shutil

    path = os.path.join(out_root, name)
    shutil.rmtree(path, ignore_errors=True)
    return path


def table(results):
    """The README's markdown table from a results dict (`quality.json`)."""
    lines = [
        "| style | view | photo unchanged SSIM | pix2pix (one model per style) | "
        "multi-style (one model) | multi-style PSNR (photo) | checkerboard vs truth |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    multi = results["runs"].get("multistyle_paired")
    if multi is None:  # --families pix2pix: one line per style and view
        return "\n".join(
            f"pix2pix {name.removeprefix('pix2pix_')} {label}: SSIM {m['ssim']:.3f} "
            f"({m['ssim_gap_closed']:.0%} of the gap; photo {m['baseline_ssim']:.3f}), PSNR "
            f"{m['psnr']:.2f} dB, {one['training_seconds']} s"
            for name, one in results["runs"].items()
            for view, label in VIEWS
            for m in [one["metrics"][name.removeprefix("pix2pix_")][view]]
        )
    for style in multi["styles"]:
        single = results["runs"].get(f"pix2pix_{style}")
        for view, label in VIEWS:
            m = multi["metrics"][style][view]
            s = single["metrics"][style][view] if single else None
            single_text = f"{s['ssim']:.3f} ({s['ssim_gap_closed']:.0%})" if s else "-"
            lines.append(
                f"| {style} | {label} | {m['baseline_ssim']:.3f} | {single_text} | "
                f"{m['ssim']:.3f} ({m['ssim_gap_closed']:.0%}) | {m['psnr']:.2f} "
                f"({m['baseline_psnr']:.2f}) dB | {m['checkerboard_ratio']:.2f}x |"
            )
    means = {
        view: sum(multi["metrics"][s][view]["ssim_gap_closed"] for s in multi["styles"])
        / len(multi["styles"])
        for view, _ in VIEWS
    }
    lines.append("")
    lines.append(
        f"SSIM gap closed (share of the distance from the unchanged photo to the exact style), "
        f"mean over the styles, multi-style model: crops {means['crops']:.0%}, 256 px "
        f"{means['256']:.0%}, full size {means['full']:.0%}. Budgets: pix2pix "
        f"{results['steps']} steps per style; multi-style {multi['steps']} steps in all "
        f"({multi['training_seconds'] / 60:.1f} min); {results['cpu']}, "
        f"{results['date'][:10]}. Reproduce with `make quality`."
    )
    return "\n".join(lines)


def update_readme(results):
    with open(README, encoding="utf-8") as file:
        text = file.read()
    if START not in text or END not in text:
        raise SystemExit(f"README.md has no {START} ... {END} markers to fill.")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    with open(README, "w", encoding="utf-8") as file:
        file.write(f"{head}{START}\n{table(results)}\n{END}{tail}")


def main(argv=None):
    from benchmarks.protocol import cpu_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000, help="steps per style")
    parser.add_argument("--styles", default=",".join(STYLES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-root", default=os.path.join(ROOT, "saved_models", "quality"))
    parser.add_argument("--results", default=RESULTS)
    parser.add_argument("--readme", action="store_true", help="also rewrite the README table")
    parser.add_argument("--readme-only", action="store_true")
    parser.add_argument(
        "--families", default=",".join(FAMILIES), help="a subset of " + ", ".join(FAMILIES)
    )
    parser.add_argument(
        "--mixed-precision",
        default="none",
        choices=("none", "mixed_bfloat16", "mixed_float16"),
        help="the training commands' --mixed-precision (default none: float32)",
    )
    args = parser.parse_args(argv)
    families = tuple(f.strip() for f in args.families.split(",") if f.strip())
    if set(families) - set(FAMILIES):
        parser.error(f"--families: choose from {', '.join(FAMILIES)}")
    if args.readme_only:
        with open(args.results, encoding="utf-8") as file:
            update_readme(json.load(file))
        return 0
    styles = tuple(s.strip() for s in args.styles.split(",") if s.strip())
    import keras
    import tensorflow as tf

    started = datetime.datetime.now(datetime.UTC)
    runs = run(args.steps, styles, args.out_root, args.seed, args.mixed_precision, families)
    results = {
        "date": started.isoformat(),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "load_average": os.getloadavg(),
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__},
        "steps": args.steps,
        "seed": args.seed,
        "mixed_precision": args.mixed_precision,
        "runs": runs,
    }
    os.makedirs(os.path.dirname(args.results), exist_ok=True)
    with open(args.results, "w", encoding="utf-8") as file:
        json.dump(results, file, indent=2)
    print(table(results))
    if args.readme:
        update_readme(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
