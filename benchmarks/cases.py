"""One measured case: peak before, interleaved contenders, peak after, figures per contender.

A workload (W1, W2, ...) is one or more cases (W2 at batch 1 and at batch 8). `measure_case`
turns a list of `Contender`s into the case's record: per contender the median seconds per unit
and its spread, the forward-rule GFLOP of a unit, GFLOP/s, the fraction of the practical peak
measured around the case (the larger of the NumPy and TensorFlow peaks before and after), and
images per second; then the headline ratios (ours against each peer, and against the best peer
setting), from medians and paired round by round.
"""

from __future__ import annotations

import time

from benchmarks.protocol import (
    Contender,
    matmul_peak,
    paired_ratio,
    summarise,
    time_interleaved,
)


def fit_step(model, batch):
    """One training step through `fit`'s own compiled function (`model.train_function`), on a
    fixed batch: the path users run, with the model's own `jit_compile` setting."""
    import tensorflow as tf

    model.make_train_function()
    strategy = model.distribute_strategy
    if strategy.num_replicas_in_sync > 1:  # each replica gets its slice, as in `fit`
        size = int(tf.nest.flatten(batch)[0].shape[0])
        dataset = tf.data.Dataset.from_tensor_slices(batch).batch(size, drop_remainder=True)
        iterator = iter(strategy.experimental_distribute_dataset(dataset.repeat()))
    else:
        iterator = iter(tf.data.Dataset.from_tensors(batch).repeat())

    def run():
        outputs = model.train_function(iterator)
        if hasattr(outputs, "get_value"):
            outputs = outputs.get_value()
        tf.nest.flatten(outputs)[0].numpy()

    return run


def function_step(function, *args):
    """Calls `function(*args)` and waits for its first output."""
    import tensorflow as tf

    def run():
        tf.nest.flatten(function(*args))[0].numpy()

    return run


def measure_case(name, contenders, settings, log=print, notes=(), skipped=(), config=None):
    """Times `contenders` interleaved between two peak measurements; returns the case record."""
    peak_size, peak_repeats = settings["peak_size"], settings["peak_repeats"]
    log(f"  {name}: peak before ...")
    before = matmul_peak(peak_size, peak_repeats)
    started = time.perf_counter()
    timings = time_interleaved(
        contenders,
        rounds=settings["rounds"],
        warmup=settings["warmup"],
        min_seconds=settings["min_seconds"],
        log=log,
    )
    elapsed = time.perf_counter() - started
    after = matmul_peak(peak_size, peak_repeats)
    peak = max(before["best"], after["best"])
    records = {}
    for contender in contenders:
        timing = timings[contender.name]
        stats = summarise(timing["seconds"])
        record = {
            "role": contender.role,
            "setting": contender.setting,
            "units": contender.units,
            **{key: _round(value) for key, value in stats.items()},
            "repeats_per_round": timing["repeats"],
            "seconds_per_round": [_round(s) for s in timing["seconds"]],
            "warmup_seconds": [_round(s) for s in timing["warmup_seconds"]],
            "gflop": None,
            "gflops": None,
            "fraction_of_peak": None,
            "images_per_second": _round(contender.units / stats["median"]),
        }
        if contender.flops:
            record["gflop"] = _round(contender.flops / 1e9)
            record["gflops"] = _round(contender.flops / stats["median"] / 1e9)
            record["fraction_of_peak"] = _round(record["gflops"] / peak)
        records[contender.name] = record
    return {
        "case": name,
        "config": config or {},
        "peak_before": before,
        "peak_after": after,
        "peak_gflops": peak,
        "load_before": before["load_average"],
        "load_after": after["load_average"],
        "timing_seconds": _round(elapsed),
        "contenders": records,
        "ratios": ratios(contenders, timings),
        "notes": list(notes),
        "skipped": list(skipped),
    }


def ratios(contenders, timings):
    """Speed of our default contender relative to each peer: peer seconds / our seconds
    (above 1: ours is faster), from the medians and round by round."""
    # float32 against float32; the *_bf16 contenders (mixed_bfloat16) get their own block.
    ours = [c for c in contenders if c.role == "ours" and not c.name.endswith("_bf16")]
    peers = [c for c in contenders if c.role == "peer" and not c.name.endswith("_bf16")]
    if not ours or not peers:
        return {}

    def median(name):
        return summarise(timings[name]["seconds"])["median"]

    default = ours[0]
    best_ours = min(ours, key=lambda c: median(c.name))
    found = {"ours": default.name, "ours_best": best_ours.name, "per_peer": {}}
    for peer in peers:
        found["per_peer"][peer.name] = {
            "speedup": _round(median(peer.name) / median(default.name)),
            "speedup_paired": _round(
                paired_ratio(timings[peer.name]["seconds"], timings[default.name]["seconds"])
            ),
        }
    # Peers of one family (keras_io, keras_io_xla) are one peer at its best setting.
    families = {}
    for peer in peers:
        families.setdefault(peer.name.removesuffix("_xla"), []).append(peer)
    found["per_peer_best_setting"] = {}
    for family, members in families.items():
        best = min(members, key=lambda c: median(c.name))
        found["per_peer_best_setting"][family] = {
            "peer_setting": best.name,
            "speedup": _round(median(best.name) / median(default.name)),
            "speedup_ours_best": _round(median(best.name) / median(best_ours.name)),
        }
    ours_bf16 = [c for c in contenders if c.role == "ours" and c.name.endswith("_bf16")]
    if ours_bf16:
        mine = ours_bf16[0].name
        block = {"ours": mine, "per_peer": {}}
        for peer in contenders:
            if peer.role == "peer":
                block["per_peer"][peer.name] = _round(median(peer.name) / median(mine))
        found["mixed_bfloat16"] = block
    return found


def _round(value, digits=4):
    if value is None:
        return None
    return float(f"{value:.{digits}g}")


def skipped_line(what, why):
    return f"{what}: skipped ({why})"


def add_torch_peer(contenders, skipped, step_class, arguments, flops, note, batch_size):
    """Append the PyTorch reference's step (`step_class(*arguments, batch_size, threads=...)` from
    `benchmarks.peers.torch_reference`) to `contenders`, or a skipped line when PyTorch is not
    installed (the optional `bench` extra)."""
    from benchmarks.peers import torch_reference
    from benchmarks.protocol import usable_cores

    if not torch_reference.available():
        skipped.append(skipped_line("torch", "PyTorch is not installed; pip install -e '.[bench]'"))
        return
    step = getattr(torch_reference, step_class)(*arguments, batch_size, threads=usable_cores())
    contenders.append(Contender("pytorch", step.step, flops, "peer", note, batch_size))
