"""Restoration model vs classical baselines on held-out photos, at real sizes.

Scores a model from `keras-styletransfer train-restore` on the four held-out offline photos
(never seen in training) for each of its tasks, every photo in every variant of the task's
degradation (`keras_styletransfer.data.restoration`), at three views: held-out 64-px crops
(the training scale), the whole photo with its long side at 256 px, and the whole photo at its
native size (up to 1411 px, tiled with blended seams as `restore` does). PSNR (dB) and SSIM
against the clean photo, for the model, the degraded input and each classical baseline
(bicubic, non-local means, unsharp masking and Wiener, the gray copy).

The bar of the issue: the model beats the classical baseline on at least three of the four
tasks. A task counts as beaten at a view when the model's mean PSNR and mean SSIM are both
above those of every classical baseline of the task (`beats_every_baseline`); beating the
task's first baseline only is `beats_primary_baseline`.

    python benchmarks/restoration.py --model saved_models/restore/final.keras \\
        [--views crops,256,full] [--out benchmarks/results/restoration.json] [--markdown]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results", "restoration.json")
VIEW_NAMES = {"crops": "64-px crops", "256": "whole photo, 256 px", "full": "full size"}


def _parse_views(text):
    views = []
    for item in text.split(","):
        item = item.strip()
        if item in ("crops", "full"):
            views.append(item)
        elif item.isdigit() and int(item) >= 32:
            views.append(int(item))
        else:
            raise SystemExit(f"--views: 'crops', 'full' or a long side >= 32; got {item!r}")
    return views


def _run_facts(model_path):
    """What the run behind `model_path` says about itself (config, training time), if any."""
    run_dir = os.path.dirname(os.path.abspath(model_path))
    facts = {}
    for name, key in (("config.json", "config"), ("history.json", "history")):
        path = os.path.join(run_dir, name)
        if os.path.isfile(path):
            with open(path) as file:
                facts[key] = json.load(file)
    metrics = os.path.join(run_dir, "metrics.json")
    if os.path.isfile(metrics):
        with open(metrics) as file:
            facts["training_seconds"] = json.load(file).get("training_seconds")
    history = facts.pop("history", None)
    if history:
        losses = history.get("history", history).get("g_loss", [])
        facts["epochs_trained"] = len(losses)
    return facts


def summarise(scores):
    """Per task and view: the model against its input and the classical baselines."""
    from keras_styletransfer.data.restoration import BASELINES

    summary = {}
    for task, views in scores.items():
        methods = list(BASELINES[task])
        summary[task] = {}
        for view, entry in views.items():
            model = entry["model"]

            def beats(method, model=model, entry=entry):
                return (
                    model["psnr"] > entry[method]["psnr"] and model["ssim"] > entry[method]["ssim"]
                )

            summary[task][view] = {
                "model_psnr_gain_over_input": model["psnr"] - entry["input"]["psnr"],
                "best_baseline_psnr": max(entry[m]["psnr"] for m in methods),
                "best_baseline_ssim": max(entry[m]["ssim"] for m in methods),
                "beats_primary_baseline": beats(methods[0]),
                "beats_every_baseline": all(beats(m) for m in methods),
            }
    return summary


def markdown(result):
    """The README table: one row per task and view."""
    lines = [
        "| task | view | degraded input | model | classical baseline(s) | model wins |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for task, views in result["scores"].items():
        from keras_styletransfer.data.restoration import BASELINES

        for view, entry in views.items():
            baselines = ", ".join(
                f"{m} {entry[m]['psnr']:.2f} / {entry[m]['ssim']:.3f}" for m in BASELINES[task]
            )
            won = result["summary"][task][view]["beats_every_baseline"]
            lines.append(
                f"| {task} | {VIEW_NAMES.get(view, view + ' px')} | "
                f"{entry['input']['psnr']:.2f} / {entry['input']['ssim']:.3f} | "
                f"{entry['model']['psnr']:.2f} / {entry['model']['ssim']:.3f} | {baselines} | "
                f"{'yes' if won else 'no'} |"
            )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="a train-restore .keras file")
    parser.add_argument("--views", default="crops,256,full", help="default crops,256,full")
    parser.add_argument("--seed", type=int, default=0, help="seed of the degradations")
    parser.add_argument("--out", default=RESULTS, help=f"JSON to write (default {RESULTS})")
    parser.add_argument("--markdown", action="store_true", help="print the README table")
    args = parser.parse_args(argv)
    views = _parse_views(args.views)

    from keras_styletransfer.data.offline_photos import load_offline_style_set
    from keras_styletransfer.data.restoration import score_restoration
    from keras_styletransfer.files import check_output_file, write_json
    from keras_styletransfer.models.loading import load_trained
    from keras_styletransfer.training.restoration import restorer

    check_output_file(args.out, inputs=(args.model,), overwrite=True, option="--out")
    model = load_trained(args.model)
    facts = _run_facts(args.model)
    size = facts.get("config", {}).get("image_size", 64)
    crops = load_offline_style_set(size=size, styles=(), seed=args.seed).test_crops
    start = time.time()
    scores = score_restoration(
        restorer(model), model.style_names, views=views, seed=args.seed, crops=crops
    )
    result = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()},
        "model": os.path.relpath(os.path.abspath(args.model)),
        "run": facts,
        "seed": args.seed,
        "scoring_seconds": round(time.time() - start, 1),
        "scores": scores,
        "summary": summarise(scores),
    }
    tasks_won = {
        view: sorted(
            task
            for task, by_view in result["summary"].items()
            if by_view[view]["beats_every_baseline"]
        )
        for view in next(iter(result["summary"].values()))
    }
    result["tasks_won_by_view"] = tasks_won
    write_json(args.out, result)
    for view, won in tasks_won.items():
        print(
            f"{VIEW_NAMES.get(view, view + ' px')}: model beats every baseline on "
            f"{len(won)}/{len(scores)} tasks ({', '.join(won) or 'none'})"
        )
    if args.markdown:
        print(markdown(result))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
