"""`make bench`: our training and inference steps timed beside the peers', in one run.

    python benchmarks/run_all.py                 # the full suite (tens of minutes on 2 cores)
    python benchmarks/run_all.py --quick         # tiny shapes, few rounds: a smoke run
    python benchmarks/run_all.py --workloads W1,W4 --rounds 7 --no-xla

Workloads (issue 14): W0 first step (trace + compile) of W1 and W3, each in a fresh process;
W1 CycleGAN step (ResNet-9, 64 filters, 70x70 PatchGAN, 128x128, batch 1) beside the keras-io
example's step structure; W1b the `train-style` default CycleGAN step; W2 ResNet-9 inference
(128x128, batch 1 and 8); W3 pix2pix step (U-Net 256 + conditional PatchGAN, 256x256, batch 1)
beside the TensorFlow tutorial's step; W4 U-Net 256 inference (batch 1 and 8) through
`stylize`, `predict`, the compiled function and the exported SavedModel; W5 the DCGAN step
(64x64, batch 64) beside the documents' `predict` + `train_on_batch` loop; W6 peak memory of
stylising 1024^2 and 4096^2 photos (fresh processes); P the input pipeline's images/s on the
embedded photos; GPU (only when one is visible) W1 and W3 at 256x256, batch 1 and 4, mixed
precision, and on 2 replicas when 2 GPUs are present. PyTorch's reference steps join W1-W4
when `torch` is installed (`pip install -e '.[bench]'`).

Protocol (see `benchmarks/protocol.py`): warm-up excluded, interleaved rounds with rotated order,
medians with quartiles; a practical matmul peak (best of many float32 matmuls, NumPy and
TensorFlow) right before and after every case; FLOPs by the forward rule
(`benchmarks/flops.py`); the CPU model, load and versions recorded. Results: one JSON file per
run under benchmarks/results/ and a table on stdout. The headline figure of a case is the speed
ratio ours / peer from the same run (peer seconds / our seconds; above 1 means ours is faster).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

SCHEMA_VERSION = 1
WORKLOADS = ("W0", "W1", "W1b", "W2", "W3", "W4", "W5", "W6", "P", "GPU")

FULL = {
    "rounds": 5,
    "warmup": 2,
    "min_seconds": 0.3,
    "peak_size": 2048,
    "peak_repeats": 20,
    "xla": True,
    "w1": {"size": 128, "filters": 64, "blocks": 9, "d_layers": 3, "batch_size": 1},
    "w1b": {"size": None, "filters": None, "batch_size": None},  # the train-style defaults
    "w2": {"size": 128, "filters": 64, "blocks": 9, "batch_sizes": [1, 8]},
    "w3": {"size": 256, "filters": 64, "downsamplings": 8, "batch_size": 1},
    "w4": {"size": 256, "filters": 64, "downsamplings": 8, "batch_sizes": [1, 8]},
    "w5": {"preset": "dcgan64", "batch_size": 64},
    "w6": {"sides": [1024, 4096], "filters": 64, "downsamplings": 8, "max_tile_pixels": 512**2},
    "pipeline": {"size": 64, "crops_per_photo": 64, "batches": 200, "cache_dir": None},
    "gpu": {"size": 256, "batch_sizes": [1, 4], "w3_downsamplings": 8, "rounds": 10},
    "first_step_contenders": {
        "W1": ["ours", "ours_xla", "keras_io", "keras_io_xla", "pytorch"],
        "W3": ["ours", "ours_xla", "tf_tutorial", "tf_tutorial_xla", "pytorch"],
    },
}

# Tiny shapes and few rounds: every code path of the suite in a few minutes; figures that are
# only a smoke signal (tiny steps are dominated by per-op overheads, not convolutions).
QUICK = {
    **FULL,
    "rounds": 3,
    "warmup": 1,
    "min_seconds": 0.05,
    "peak_size": 512,
    "peak_repeats": 5,
    "xla": False,  # XLA compiles take minutes on 2 cores even at tiny sizes; --xla forces them
    "w1": {"size": 32, "filters": 8, "blocks": 2, "d_layers": 2, "batch_size": 1},
    "w1b": {"size": 32, "filters": 8, "batch_size": 2},
    "w2": {"size": 32, "filters": 8, "blocks": 2, "batch_sizes": [1, 2]},
    "w3": {"size": 32, "filters": 8, "downsamplings": 5, "batch_size": 1},
    "w4": {"size": 32, "filters": 8, "downsamplings": 5, "batch_sizes": [1, 2]},
    "w5": {"preset": "dcgan64", "batch_size": 8},
    "w6": {"sides": [256, 512], "filters": 8, "downsamplings": 4, "max_tile_pixels": 128**2},
    "pipeline": {"size": 32, "crops_per_photo": 4, "batches": 20, "cache_dir": False},
    "gpu": {"size": 64, "batch_sizes": [1], "w3_downsamplings": 6, "rounds": 3},
    "first_step_contenders": {"W1": ["ours"], "W3": ["ours"]},
}


def log(message):
    print(message, flush=True)


def isolated(task, settings, timeout, **options):
    """Runs `benchmarks.isolated TASK` in a fresh Python; its JSON result, or an error record."""
    command = [
        sys.executable,
        "-m",
        "benchmarks.isolated",
        task,
        "--settings",
        json.dumps(settings),
    ]
    for key, value in options.items():
        command += [f"--{key.replace('_', '-')}", str(value)]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s", **options}
    lines = done.stdout.strip().splitlines()
    if done.returncode or not lines:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return {"error": f"exit {done.returncode}: {' | '.join(tail)}", **options}
    result = json.loads(lines[-1])
    result["process_seconds"] = round(time.perf_counter() - started, 2)
    return result


def w0(settings, _log):
    from benchmarks.peers import torch_reference

    cases = []
    for workload, contenders in settings["first_step_contenders"].items():
        rows, skipped = {}, []
        for contender in contenders:
            if contender.endswith("_xla") and not settings["xla"]:
                continue
            if contender == "pytorch" and not torch_reference.available():
                skipped.append("torch: skipped (PyTorch is not installed)")
                continue
            log(f"    first step {workload} {contender} (fresh process) ...")
            rows[contender] = isolated(
                "first_step", settings, 1800, workload=workload, contender=contender
            )
        cases.append(
            {
                "case": f"W0 first step of {workload}",
                "config": settings[workload.lower()],
                "first_steps": rows,
                "contenders": {},
                "notes": [
                    "first_step_seconds: trace + compile + one step, in a fresh process "
                    "after TensorFlow's import; build_seconds: building the networks."
                ],
                "skipped": skipped,
            }
        )
    return cases


def w6(settings, _log):
    rows = {}
    for side in settings["w6"]["sides"]:
        log(f"    stylising a {side}x{side} photo (fresh process) ...")
        rows[str(side)] = isolated("memory", settings, 3600, side=side)
    return [
        {
            "case": "W6 peak memory of stylize()",
            "config": settings["w6"],
            "memory": rows,
            "contenders": {},
            "notes": [
                "peak_rss_gib: the process's peak resident memory while stylising (TensorFlow "
                "included); peak_increase_gib: above the resident memory just before."
            ],
            "skipped": [],
        }
    ]


def gpu_workloads(settings, _log):
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return [
            {
                "case": "GPU",
                "contenders": {},
                "notes": [],
                "skipped": ["GPU: skipped (no GPU visible)"],
            }
        ]
    rows = []
    for workload in ("W1", "W3"):
        for batch_size in settings["gpu"]["batch_sizes"]:
            for replicas in sorted({1, min(2, len(gpus))}):
                log(f"    GPU {workload} batch {batch_size} x {replicas} replica(s) ...")
                rows.append(
                    isolated(
                        "gpu",
                        settings,
                        1800,
                        workload=workload,
                        batch_size=batch_size,
                        replicas=replicas,
                        precision="mixed_float16",
                    )
                )
    for row in rows:
        if row.get("replicas") == 2 and "contenders" in row:
            single = next(
                (
                    r
                    for r in rows
                    if r.get("workload") == row["workload"]
                    and r.get("replicas") == 1
                    and "contenders" in r
                    and r.get("batch_size_per_replica") == row["batch_size_per_replica"]
                ),
                None,
            )
            if single:
                row["scaling_efficiency"] = round(
                    row["contenders"]["ours"]["images_per_second"]
                    / (2 * single["contenders"]["ours"]["images_per_second"]),
                    3,
                )
    return [
        {
            "case": "GPU W1 and W3, mixed precision",
            "gpu_runs": rows,
            "contenders": {},
            "notes": [],
            "skipped": [],
        }
    ]


def runners():
    from benchmarks import workloads_serve as serve
    from benchmarks import workloads_train as train

    return {
        "W0": w0,
        "W1": train.w1,
        "W1b": train.w1b,
        "W2": serve.w2,
        "W3": train.w3,
        "W4": serve.w4,
        "W5": train.w5,
        "W6": w6,
        "P": serve.pipeline,
        "GPU": gpu_workloads,
    }


# --- the table ----------------------------------------------------------------------------------


def _fmt(value, spec, missing="-"):
    return missing if value is None else format(value, spec)


def table(cases):
    lines = []
    header = (
        f"{'case / contender':44s} {'median s':>9s} {'IQR/med':>8s} {'GFLOP':>8s} "
        f"{'GFLOP/s':>8s} {'of peak':>8s} {'img/s':>8s}  setting"
    )
    for case in cases:
        lines.append("")
        peak = case.get("peak_gflops")
        title = case["case"] + (f"   (peak {peak:.0f} GFLOP/s)" if peak else "")
        if case.get("error"):
            title += f"   ERROR: {case['error']}"
        lines.append(title)
        if case.get("contenders"):
            lines.append(header)
        for name, row in case.get("contenders", {}).items():
            lines.append(
                f"  {name:42s} {_fmt(row['median'], '9.4f')} "
                f"{_fmt(row['iqr_over_median'], '8.1%')} {_fmt(row['gflop'], '8.2f')} "
                f"{_fmt(row['gflops'], '8.1f')} {_fmt(row['fraction_of_peak'], '8.1%')} "
                f"{_fmt(row['images_per_second'], '8.1f')}  {row['setting']}"
            )
        ratios = case.get("ratios") or {}
        for peer, figures in (ratios.get("per_peer_best_setting") or {}).items():
            lines.append(
                f"  => {ratios['ours']} vs {peer} at its best ({figures['peer_setting']}): "
                f"{figures['speedup']:.2f}x as fast"
                f" (our best setting, {ratios['ours_best']}: {figures['speedup_ours_best']:.2f}x)"
            )
        mixed = ratios.get("mixed_bfloat16")
        if mixed:
            against = ", ".join(f"{peer} {value:.2f}x" for peer, value in mixed["per_peer"].items())
            lines.append(f"  => {mixed['ours']} (mixed_bfloat16) vs {against}")
        for contender, row in (case.get("first_steps") or {}).items():
            lines.append(
                f"  {contender:42s} "
                + (
                    f"first step {row['first_step_seconds']:.2f} s, "
                    f"second {row['second_step_seconds']:.3f} s, "
                    f"build {row['build_seconds']:.2f} s"
                    if "error" not in row
                    else f"ERROR {row['error']}"
                )
            )
        for side, row in (case.get("memory") or {}).items():
            lines.append(
                f"  {side + '^2':42s} "
                + (
                    f"peak RSS {row['peak_rss_gib']:.2f} GiB (+{row['peak_increase_gib']:.2f} over "
                    f"{row['baseline_rss_gib']:.2f}), {row['seconds']:.2f} s"
                    if "error" not in row
                    else f"ERROR {row['error']}"
                )
            )
        for family, row in (case.get("families") or {}).items():
            lines.append(
                f"  {family:42s} {row['images_per_second']:.0f} images/s "
                f"(batch {row['batch_size']})"
            )
        if "offline_set_seconds" in case:
            lines.append(
                f"  {'offline set build / cache load':42s} {case['offline_set_seconds']:.2f} s"
            )
        for row in case.get("gpu_runs") or []:
            if "error" in row:
                lines.append(f"  ERROR {row['error']}")
                continue
            figures = ", ".join(
                f"{name} {c['median']:.4f} s ({c['images_per_second']:.1f} img/s)"
                for name, c in row["contenders"].items()
            )
            scaling = row.get("scaling_efficiency")
            lines.append(
                f"  {row['workload']} {row['size']}^2 batch {row['batch_size_per_replica']} x "
                f"{row['replicas']} replica(s), {row['precision']}: {figures}"
                + (f"; scaling efficiency {scaling:.2f}" if scaling else "")
            )
        for line in case.get("skipped", []):
            lines.append(f"  - {line}")
    return "\n".join(lines)


# --- main ---------------------------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny shapes, few rounds (smoke)")
    parser.add_argument(
        "--workloads",
        default=",".join(WORKLOADS),
        help=f"comma-separated subset of {', '.join(WORKLOADS)}",
    )
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds per case")
    parser.add_argument("--no-xla", action="store_true", help="skip the XLA contenders")
    parser.add_argument("--xla", action="store_true", help="time the XLA contenders (--quick)")
    parser.add_argument(
        "--bf16",
        choices=("auto", "on", "off"),
        default="auto",
        help="time mixed_bfloat16 contenders in W1 and W3 (auto: on CPUs with bfloat16 "
        "instructions, avx512_bf16 or amx_bf16; never in --quick)",
    )
    parser.add_argument(
        "--out",
        default=os.path.join(ROOT, "benchmarks", "results"),
        help="folder of the JSON result (one file per run)",
    )
    parser.add_argument(
        "--frozen-weights",
        action="store_true",
        help="the `stylize` command's setting (TF_ONEDNN_ASSUME_FROZEN_WEIGHTS=1, for the whole "
        "process, every contender): inference workloads only (W2, W4, W6)",
    )
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.workloads.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(WORKLOADS))
    if unknown:
        parser.error(f"unknown workloads {unknown}; choose from {', '.join(WORKLOADS)}")
    if args.frozen_weights:
        training = sorted(set(chosen) - {"W2", "W4", "W6"})
        if training:
            parser.error(
                f"--frozen-weights: TensorFlow would then ignore every weight update; "
                f"{training} train or time training steps, so run W2, W4 and W6 alone"
            )
        if "tensorflow" in sys.modules:
            parser.error("--frozen-weights must be chosen before TensorFlow is loaded")
        os.environ["TF_ONEDNN_ASSUME_FROZEN_WEIGHTS"] = "1"
    settings = json.loads(json.dumps(QUICK if args.quick else FULL))
    if args.rounds:
        settings["rounds"] = args.rounds
    if args.no_xla or args.xla:
        settings["xla"] = bool(args.xla)
    from benchmarks.protocol import cpu_flags

    bf16_cpu = bool({"avx512_bf16", "amx_bf16"} & set(cpu_flags()))
    settings["bf16"] = args.bf16 == "on" or (args.bf16 == "auto" and bf16_cpu and not args.quick)

    from benchmarks.protocol import machine

    started = time.perf_counter()
    stamp = datetime.datetime.now(datetime.UTC)
    report = {
        "schema_version": SCHEMA_VERSION,
        "mode": "quick" if args.quick else "full",
        "started_utc": stamp.isoformat(timespec="seconds"),
        "workloads": chosen,
        "settings": settings,
        "machine": machine(),
        "flop_rule": "forward rule: 2 FLOPs per multiply-add of convolutions, transposed "
        "convolutions and matmuls; a training step counts 3x every differentiated "
        "network call and 1x forward-only calls (benchmarks/flops.py)",
        "cases": [],
    }
    log(
        f"machine: {report['machine']['cpu_model']}, {report['machine']['usable_cores']} cores, "
        f"load {report['machine']['load_average']}; mode {report['mode']}"
    )
    table_runners = runners()
    for name in chosen:
        log(f"{name} ...")
        try:
            cases = table_runners[name](settings, log)
        except Exception as error:  # one failed workload must not lose the others' figures
            cases = [
                {
                    "case": name,
                    "error": f"{type(error).__name__}: {error}",
                    "contenders": {},
                    "notes": [],
                    "skipped": [],
                }
            ]
            log(f"  {name} failed: {type(error).__name__}: {error}")
        for case in cases:
            case.setdefault("workload", name)
        report["cases"].extend(cases)
    report["seconds"] = round(time.perf_counter() - started, 1)
    report["load_average_end"] = machine_load()
    os.makedirs(args.out, exist_ok=True)
    suffix = "-quick" if args.quick else ""
    path = os.path.join(args.out, f"bench-{stamp:%Y%m%d-%H%M%S}{suffix}.json")
    with open(path, "w") as file:
        json.dump(report, file, indent=1)
    log(table(report["cases"]))
    log(f"\n{len(report['cases'])} cases in {report['seconds']:.0f} s; JSON: {path}")
    return path


def machine_load():
    from benchmarks.protocol import load_average

    return load_average()


if __name__ == "__main__":
    main()
