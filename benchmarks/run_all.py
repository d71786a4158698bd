"""`make bench`: training throughput of the presets as a fraction of this machine's matmul peak.

Each figure is a ratio measured in this one run: the peak is a large float32 matmul timed here,
and a training step's FLOPs are counted by TensorFlow's profiler on the compiled step's graph.

    python benchmarks/run_all.py [--steps 20] [--presets mnist_dcgan,mlp_gan]
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf


def matmul_peak_gflops(size=2048, repeats=10):
    """Best-of-`repeats` float32 GFLOP/s of a size x size matmul."""
    a = tf.random.normal((size, size))
    b = tf.random.normal((size, size))
    matmul = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)))
    matmul().numpy()
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        matmul().numpy()
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best / 1e9


def count_flops(concrete_function):
    """Floating-point operations in a concrete function's graph (TF profiler)."""
    from tensorflow.python.profiler import model_analyzer, option_builder

    options = option_builder.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    profile = model_analyzer.profile(graph=concrete_function.graph, options=options)
    return profile.total_float_ops


def benchmark_preset(name, steps, batch_size):
    from keras_styletransfer.models.presets import get_preset
    from keras_styletransfer.training.noise import build_gan

    preset = get_preset(name)
    gan = build_gan(preset, seed=0)
    images = tf.random.uniform((batch_size, *preset.image_shape), -1.0, 1.0)
    step = tf.function(gan.train_step)
    flops = count_flops(step.get_concrete_function(images))
    step(images)  # trace and warm up
    times = []
    for _ in range(steps):
        started = time.perf_counter()
        logs = step(images)
        float(logs["g_loss"])
        times.append(time.perf_counter() - started)
    median = float(np.median(times))
    return {
        "preset": name,
        "batch_size": batch_size,
        "step_seconds": median,
        "gflop_per_step": flops / 1e9,
        "achieved_gflops": flops / median / 1e9,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--presets", default="mnist_dcgan,mlp_gan,dcgan64")
    args = parser.parse_args()
    peak = matmul_peak_gflops()
    print(f"matmul peak (2048^2 float32, this run): {peak:.1f} GFLOP/s")
    results = []
    for name in args.presets.split(","):
        from keras_styletransfer.models.presets import get_preset

        result = benchmark_preset(name, args.steps, get_preset(name).batch_size)
        result["fraction_of_peak"] = result["achieved_gflops"] / peak
        results.append(result)
        print(
            f"{name:16s} batch {result['batch_size']:3d}  "
            f"{result['step_seconds'] * 1e3:7.1f} ms/step  "
            f"{result['gflop_per_step']:6.2f} GFLOP/step  "
            f"{result['fraction_of_peak']:.1%} of peak"
        )
    os.makedirs("saved_models", exist_ok=True)
    with open(os.path.join("saved_models", "bench.json"), "w") as file:
        json.dump({"matmul_peak_gflops": peak, "results": results}, file, indent=2)


if __name__ == "__main__":
    main()
