"""Measurements that need a fresh process: W0 (first step), W6 (peak memory), GPU runs.

    python -m benchmarks.isolated first_step --workload W1 --contender ours --settings JSON
    python -m benchmarks.isolated memory --side 4096 --settings JSON
    python -m benchmarks.isolated gpu --workload W1 --batch-size 4 --settings JSON

Each prints one JSON object on its last line of stdout; `run_all.py` starts them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# --- W0: the first training step (trace + compile + one step) ---------------------------------


def _first_step_contender(workload, contender, settings):
    """`(build, run)`: builds the contender, then `run()` does one step."""
    from benchmarks import workloads_train as train
    from benchmarks.cases import fit_step, function_step

    xla = contender.endswith("_xla")
    if workload == "W1":
        cfg = settings["w1"]
        size, batch_size = cfg["size"], cfg["batch_size"]
        shape = (batch_size, size, size, 3)
        batch = (train._images(1, shape), train._images(2, shape))
        if contender.startswith("ours"):
            model = train._our_cyclegan(
                size, cfg["filters"], cfg["blocks"], cfg["d_layers"], True if xla else None
            )
            return model, fit_step(model, batch)
        if contender.startswith("keras_io"):
            from benchmarks.peers import kerasio_cyclegan

            peer = kerasio_cyclegan.build(
                size, cfg["filters"], cfg["blocks"], cfg["d_layers"], jit_compile=xla
            )
            return peer, fit_step(peer, batch)
        if contender == "pytorch":
            from benchmarks.peers import torch_reference

            step = torch_reference.CycleGANStep(size, cfg["filters"], cfg["blocks"], batch_size)
            return step, step.step
    if workload == "W3":
        cfg = settings["w3"]
        size, batch_size = cfg["size"], cfg["batch_size"]
        shape = (batch_size, size, size, 3)
        source, target = train._images(5, shape), train._images(6, shape)
        if contender.startswith("ours"):
            model = train._our_pix2pix(
                size, cfg["filters"], cfg["downsamplings"], True if xla else None
            )
            return model, fit_step(model, (source, target))
        if contender.startswith("tf_tutorial"):
            from benchmarks.peers import tf_pix2pix

            peer = tf_pix2pix.TutorialPix2Pix(size, cfg["filters"], cfg["downsamplings"], xla)
            return peer, function_step(peer.train_step, source, target)
        if contender == "pytorch":
            from benchmarks.peers import torch_reference

            step = torch_reference.Pix2PixStep(
                size, cfg["filters"], cfg["downsamplings"], batch_size
            )
            return step, step.step
    raise SystemExit(f"unknown first-step contender {workload} {contender}")


def first_step(args, settings):
    import tensorflow as tf  # imported before the clock starts, as in any session

    del tf
    started = time.perf_counter()
    _, run = _first_step_contender(args.workload, args.contender, settings)
    built = time.perf_counter()
    run()
    first = time.perf_counter()
    run()
    second = time.perf_counter()
    return {
        "workload": args.workload,
        "contender": args.contender,
        "build_seconds": round(built - started, 3),
        "first_step_seconds": round(first - built, 3),
        "second_step_seconds": round(second - first, 3),
    }


# --- W6: peak memory of stylising a large photo -----------------------------------------------


def _memory_status():
    """VmRSS and VmHWM (peak) of this process in bytes, from /proc/self/status."""
    values = {}
    with open("/proc/self/status") as file:
        for line in file:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) * 1024
    return values


def _reset_peak():
    """Resets VmHWM to the current RSS (Linux >= 4.0); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as file:
            file.write("5")
        return True
    except OSError:
        return False


def memory(args, settings):
    import numpy as np

    from keras_styletransfer.models.generators import UNetGenerator
    from keras_styletransfer.seeding import seeded
    from keras_styletransfer.serving.inference import stylize

    cfg = settings["w6"]
    with seeded(0):
        generator = UNetGenerator(
            num_downsamplings=cfg["downsamplings"],
            filters=cfg["filters"],
            max_filters=8 * cfg["filters"],
        )
    tile = cfg["max_tile_pixels"]
    side = int(tile**0.5)
    # Warm the compiled function on one full tile, so the baseline holds TF's own buffers.
    stylize(generator, np.zeros((side, side, 3), np.uint8), max_tile_pixels=tile)
    reset = _reset_peak()
    baseline = _memory_status()
    rows = np.linspace(0, 255, args.side, dtype=np.float32)
    photo = np.stack(
        [
            np.add.outer(rows, rows) / 2,
            np.add.outer(rows, rows[::-1]) / 2,
            np.tile(rows, (args.side, 1)),
        ],
        axis=-1,
    ).astype(np.uint8)
    started = time.perf_counter()
    (result,) = stylize(generator, photo, max_tile_pixels=tile)
    seconds = time.perf_counter() - started
    after = _memory_status()
    gib = 2**30
    return {
        "side": args.side,
        "output_shape": list(result.shape),
        "seconds": round(seconds, 3),
        "max_tile_pixels": tile,
        "baseline_rss_gib": round(baseline["VmRSS"] / gib, 3),
        "peak_rss_gib": round(after["VmHWM"] / gib, 3),
        "peak_increase_gib": round((after["VmHWM"] - baseline["VmRSS"]) / gib, 3),
        "peak_was_reset": reset,
    }


# --- GPU: W1 and W3 at 256x256 with mixed precision, and 2 replicas when present ---------------


def gpu(args, settings):
    import keras
    import tensorflow as tf

    from benchmarks import workloads_train as train
    from benchmarks.cases import fit_step, function_step
    from benchmarks.protocol import summarise, time_interleaved

    cfg = settings["gpu"]
    keras.mixed_precision.set_global_policy(args.precision)
    size, batch_size = cfg["size"], args.batch_size
    gpus = tf.config.list_physical_devices("GPU")
    strategy = None
    if args.replicas > 1:
        strategy = tf.distribute.MirroredStrategy([f"/GPU:{i}" for i in range(args.replicas)])
    global_batch = batch_size * args.replicas
    shape = (global_batch, size, size, 3)
    from benchmarks.protocol import Contender

    contenders = []
    scope = strategy.scope() if strategy else _null()
    with scope:
        if args.workload == "W1":
            w1 = settings["w1"]
            model = train._our_cyclegan(size, w1["filters"], w1["blocks"], w1["d_layers"], None)
            batch = (train._images(1, shape), train._images(2, shape))
        else:
            w3 = settings["w3"]
            model = train._our_pix2pix(size, w3["filters"], cfg["w3_downsamplings"], None)
            batch = (train._images(5, shape), train._images(6, shape))
    contenders.append(Contender("ours", fit_step(model, batch), None, "ours", "fit", global_batch))
    if args.replicas == 1:
        if args.workload == "W1":
            from benchmarks.peers import kerasio_cyclegan

            w1 = settings["w1"]
            peer = kerasio_cyclegan.build(size, w1["filters"], w1["blocks"], w1["d_layers"])
            contenders.append(
                Contender("keras_io", fit_step(peer, batch), None, "peer", "fit", global_batch)
            )
        else:
            from benchmarks.peers import tf_pix2pix

            peer = tf_pix2pix.TutorialPix2Pix(
                size, settings["w3"]["filters"], cfg["w3_downsamplings"]
            )
            contenders.append(
                Contender("tf_tutorial", function_step(peer.train_step, *batch), None, "peer", "")
            )
    timings = time_interleaved(contenders, cfg["rounds"], warmup=2, log=lambda *_: None)
    names = [tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus]
    return {
        "workload": args.workload,
        "size": size,
        "batch_size_per_replica": batch_size,
        "replicas": args.replicas,
        "precision": args.precision,
        "jit_compile": bool(model.jit_compile),
        "gpus": names,
        "contenders": {
            name: {
                **summarise(t["seconds"]),
                "images_per_second": global_batch / summarise(t["seconds"])["median"],
            }
            for name, t in timings.items()
        },
    }


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("task", choices=("first_step", "memory", "gpu"))
    parser.add_argument("--workload", default="W1")
    parser.add_argument("--contender", default="ours")
    parser.add_argument("--side", type=int, default=1024)
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--precision", default="mixed_float16")
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--settings", required=True, help="the suite's settings, as JSON")
    args = parser.parse_args(argv)
    settings = json.loads(args.settings)
    result = {"first_step": first_step, "memory": memory, "gpu": gpu}[args.task](args, settings)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
