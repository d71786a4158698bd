"""The measuring protocol: the machine, the same-run matmul peak, interleaved timed rounds.

Every figure of the suite comes from one process and one run:
- the machine: CPU model, logical cores usable by this process, load averages, GPU names,
  library versions and the git commit;
- a practical peak measured right before and right after every workload: the best of many
  large float32 matmuls, in NumPy and in TensorFlow (best, not median: the peak is what the
  hardware reached in this run, and noise only ever makes a round slower);
- contenders (our step and the peers' steps) timed in interleaved rounds, the order rotated each
  round so that drifts of the machine's speed reach every contender alike; warm-up calls (trace,
  compile, first allocations) excluded; medians, quartiles and extremes kept, and the ratio of
  two contenders taken round by round as well as of medians.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np


def cpu_model():
    """The CPU's model name from /proc/cpuinfo (or platform's guess elsewhere)."""
    try:
        with open("/proc/cpuinfo") as file:
            for line in file:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags():
    """The vector extensions that matter for float32 speed (avx2, avx512f, amx_tile, ...)."""
    wanted = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_tile", "amx_bf16")
    try:
        with open("/proc/cpuinfo") as file:
            for line in file:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return [flag for flag in wanted if flag in flags]
    except OSError:
        pass
    return []


def load_average():
    """The 1, 5 and 15 minute load averages (None where the OS has none)."""
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


def usable_cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count()


def _git(*args):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=20, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def versions():
    """Versions of Python and of every library a figure depends on (None when not installed)."""
    import importlib.metadata

    found = {"python": sys.version.split()[0]}
    for name in ("tensorflow", "keras", "numpy", "torch", "keras_styletransfer"):
        try:
            found[name] = importlib.metadata.version(name.replace("_", "-"))
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def machine():
    """Everything about this machine and checkout that a figure should be read with."""
    import tensorflow as tf

    status = _git("status", "--porcelain")
    gpus = []
    for device in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(device)
        gpus.append(details.get("device_name", device.name))
    return {
        "cpu_model": cpu_model(),
        "cpu_flags": cpu_flags(),
        "logical_cores": os.cpu_count(),
        "usable_cores": usable_cores(),
        "load_average": load_average(),
        "gpus": gpus,
        "platform": platform.platform(),
        "versions": versions(),
        "tf_threads": {
            "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
        },
        "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default (on)"),
        "onednn_frozen_weights": os.environ.get("TF_ONEDNN_ASSUME_FROZEN_WEIGHTS", "unset"),
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": bool(status) if status is not None else None,
    }


# --- the practical peak -----------------------------------------------------------------------


def _best_seconds(run, repeats):
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def numpy_matmul_peak(size=2048, repeats=20):
    """Best float32 GFLOP/s of `size` x `size` matmuls in NumPy (its BLAS)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    out = np.empty_like(a)
    np.matmul(a, b, out=out)
    return 2 * size**3 / _best_seconds(lambda: np.matmul(a, b, out=out), repeats) / 1e9


_TF_PRODUCTS = {}


def _tensorflow_products(size):
    """A compiled function of four float32 `size` x `size` matmuls, made once per size."""
    import tensorflow as tf

    if size not in _TF_PRODUCTS:
        with tf.device("/CPU:0"):
            # Different operands for each product, so that no graph optimisation merges them;
            # one element of each keeps the call synchronous without a large copy.
            pairs = [
                (
                    tf.Variable(tf.random.stateless_normal((size, size), seed=(i, 1))),
                    tf.Variable(tf.random.stateless_normal((size, size), seed=(i, 2))),
                )
                for i in range(4)
            ]
            function = tf.function(lambda: tf.add_n([tf.matmul(a, b)[0, 0] for a, b in pairs]))
        _TF_PRODUCTS[size] = (function, pairs)
    return _TF_PRODUCTS[size][0]


def tensorflow_matmul_peak(size=2048, repeats=20):
    """Best float32 GFLOP/s of `size` x `size` matmuls in TensorFlow (oneDNN / Eigen)."""
    products = _tensorflow_products(size)
    products()
    seconds = _best_seconds(lambda: float(products()), repeats)
    return 4 * 2 * size**3 / seconds / 1e9


def matmul_peak(size=2048, repeats=20):
    """`{"numpy": GFLOP/s, "tensorflow": GFLOP/s, "best": the larger}` measured now."""
    found = {
        "numpy": round(numpy_matmul_peak(size, repeats), 1),
        "tensorflow": round(tensorflow_matmul_peak(size, max(2, repeats // 4)), 1),
        "size": size,
        "load_average": load_average(),
    }
    found["best"] = max(found["numpy"], found["tensorflow"])
    return found


# --- interleaved timing -----------------------------------------------------------------------


@dataclasses.dataclass
class Contender:
    """One way of doing a workload's unit of work (a training step, a batch of inference).

    Args:
        name: str. Short name in the table ("ours", "ours_xla", "keras_io", ...).
        run: callable `() -> None` doing one unit and returning only when it is done.
        flops: float or None. Forward-rule FLOPs of one unit (see `benchmarks.flops`).
        role: str. "ours" or "peer".
        setting: str. What distinguishes it (e.g. "fit, no XLA").
        units: int. Images per unit (for images/s).
    """

    name: str
    run: Callable
    flops: float | None
    role: str = "ours"
    setting: str = ""
    units: int = 1


def summarise(seconds):
    """Median, quartiles, extremes and relative spread of a list of durations (seconds)."""
    values = sorted(seconds)
    quartiles = (
        statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 else values * 3
    )
    median = statistics.median(values)
    return {
        "median": median,
        "q1": quartiles[0],
        "q3": quartiles[2],
        "min": values[0],
        "max": values[-1],
        "iqr_over_median": (quartiles[2] - quartiles[0]) / median if median else None,
        "rounds": len(values),
    }


def time_interleaved(contenders, rounds, warmup=1, min_seconds=0.0, log=print):
    """Time each contender's unit in `rounds` interleaved rounds, after `warmup` calls each.

    In round r the contenders run in the order rotated by r. A contender whose unit takes less
    than `min_seconds` runs it several times per round (the count fixed from the warm-up), and
    its round time is the mean per unit.

    Returns:
        `{name: {"seconds": [...per round], "warmup_seconds": [...], "repeats": k}}`.
    """
    results = {}
    for contender in contenders:
        warm = []
        for _ in range(warmup):
            started = time.perf_counter()
            contender.run()
            warm.append(time.perf_counter() - started)
        last = warm[-1] if warm else 0.0
        repeats = 1 if not last or last >= min_seconds else int(np.ceil(min_seconds / last))
        results[contender.name] = {"seconds": [], "warmup_seconds": warm, "repeats": repeats}
        log(f"    warm-up {contender.name}: {', '.join(f'{s:.3f}' for s in warm)} s")
    for index in range(rounds):
        shift = index % len(contenders)
        for contender in contenders[shift:] + contenders[:shift]:
            repeats = results[contender.name]["repeats"]
            started = time.perf_counter()
            for _ in range(repeats):
                contender.run()
            results[contender.name]["seconds"].append((time.perf_counter() - started) / repeats)
    return results


def paired_ratio(numerator, denominator):
    """Median over rounds of numerator[r] / denominator[r] (same-round speed ratio)."""
    ratios = [a / b for a, b in zip(numerator, denominator, strict=True) if b]
    return statistics.median(ratios) if ratios else None
