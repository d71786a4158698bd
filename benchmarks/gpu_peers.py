"""The PyTorch reference's W1 and W3 steps on a GPU, for a machine that has no TensorFlow.

`run_all.py`'s GPU workload times our steps and the TensorFlow peers' on a GPU that TensorFlow
sees. A lent GPU machine may carry PyTorch but no TensorFlow (and no way to install it); there
this script records the one peer that can run, so that a later run of ours on a GPU has a
yardstick from the same kind of card:

    python benchmarks/gpu_peers.py --out benchmarks/results/gpu-peers-<name>.json

W1 (CycleGAN, ResNet-9 with 64 filters + PatchGAN) and W3 (pix2pix, U-Net 256 + conditional
PatchGAN) at 256x256, batch 1 and 4, in float32 and under bfloat16 autocast; each figure is the
median of `--steps` timed steps after `--warmup` untimed ones (CUDA synchronised around each
step), beside the same run's float32 and bfloat16 matmul rates (8192^3 products). Whether
TensorFlow imports, and which GPU it sees, is recorded too.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.peers import torch_reference


def tensorflow_status():
    try:
        import tensorflow as tf
    except Exception as error:  # any failure to import is the finding
        return {"imports": False, "error": f"{type(error).__name__}: {error}"}
    return {
        "imports": True,
        "version": tf.__version__,
        "gpus": [d.name for d in tf.config.list_physical_devices("GPU")],
    }


def matmul_rate(torch, dtype, size=8192, repeats=10):
    a = torch.randn(size, size, device="cuda", dtype=dtype)
    b = torch.randn(size, size, device="cuda", dtype=dtype)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    torch.cuda.synchronize()
    return 2 * size**3 * repeats / (time.perf_counter() - start) / 1e12


def time_step(torch, step, precision, warmup, steps):
    autocast = (
        torch.autocast("cuda", dtype=torch.bfloat16)
        if precision == "bf16"
        else contextlib.nullcontext()
    )
    times = []
    with autocast:
        for index in range(warmup + steps):
            torch.cuda.synchronize()
            start = time.perf_counter()
            step.step()
            torch.cuda.synchronize()
            if index >= warmup:
                times.append(time.perf_counter() - start)
    return {
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "steps": steps,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="the JSON file to write")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch-sizes", default="1,4")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args(argv)
    out = Path(args.out)
    if out.exists():
        parser.error(f"{out} exists; choose another --out (results are never overwritten)")
    import torch

    if not torch.cuda.is_available():
        parser.error("no CUDA device visible to PyTorch; this script times GPU steps only")
    torch.backends.cudnn.benchmark = True
    result = {
        "gpu": torch.cuda.get_device_name(0),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version(),
        "python": platform.python_version(),
        "tensorflow": tensorflow_status(),
        "matmul_tflops": {
            "float32": matmul_rate(torch, torch.float32),
            "bfloat16": matmul_rate(torch, torch.bfloat16),
        },
        "runs": [],
    }
    workloads = {
        "W1": lambda b: torch_reference.CycleGANStep(args.size, batch_size=b, device="cuda"),
        "W3": lambda b: torch_reference.Pix2PixStep(args.size, batch_size=b, device="cuda"),
    }
    for name, make in workloads.items():
        for batch_size in [int(b) for b in args.batch_sizes.split(",")]:
            for precision in ("fp32", "bf16"):
                step = make(batch_size)
                timing = time_step(torch, step, precision, args.warmup, args.steps)
                row = {"workload": name, "batch_size": batch_size, "precision": precision}
                row.update(timing)
                row["images_per_s"] = batch_size / timing["median_s"]
                result["runs"].append(row)
                print(json.dumps(row), flush=True)
                del step
                torch.cuda.empty_cache()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2))


if __name__ == "__main__":
    main()
