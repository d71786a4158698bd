"""The benchmark suite: FLOP rule, statistics, report; a smoke run of `--quick` (no timed test)."""

import glob
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from benchmarks import cases, run_all
from benchmarks.flops import forward_flops, step_flops
from benchmarks.protocol import Contender, paired_ratio, summarise

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_forward_rule_counts_convolutions_transposed_convolutions_and_matmuls_by_hand():
    conv = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, strides=2)])
    # 3x3 output positions (valid, stride 2), each 3*3*3 multiply-adds per output channel.
    assert forward_flops(conv, (2, 8, 8, 3)) == 2 * 2 * 3 * 3 * (3 * 3 * 3) * 4
    transposed = keras.Sequential(
        [keras.Input((4, 4, 5)), keras.layers.Conv2DTranspose(6, 3, strides=2, padding="same")]
    )
    # Each input pixel scatters a 3x3x6 kernel per input channel.
    assert forward_flops(transposed, (1, 4, 4, 5)) == 2 * 4 * 4 * 3 * 3 * 5 * 6
    dense = keras.Sequential([keras.Input((7,)), keras.layers.Dense(5), keras.layers.ReLU()])
    assert forward_flops(dense, (3, 7)) == 2 * 3 * 7 * 5
    assert step_flops(differentiated=[(10, 2)], forward_only=[(4, 1)]) == 64


def test_statistics_and_ratios_of_interleaved_rounds():
    stats = summarise([1.0, 2.0, 3.0, 4.0, 100.0])
    assert stats["median"] == 3.0 and stats["min"] == 1.0 and stats["max"] == 100.0
    assert stats["rounds"] == 5
    assert paired_ratio([2.0, 4.0, 6.0], [1.0, 1.0, 2.0]) == 3.0

    def contender(name, role):
        return Contender(name, lambda: None, 1e9, role)

    timings = {
        "ours": {"seconds": [1.0, 1.0, 1.0]},
        "ours_xla": {"seconds": [0.5, 0.5, 0.5]},
        "peer": {"seconds": [3.0, 3.0, 3.0]},
        "peer_xla": {"seconds": [2.0, 2.0, 2.0]},
    }
    found = cases.ratios(
        [
            contender("ours", "ours"),
            contender("ours_xla", "ours"),
            contender("peer", "peer"),
            contender("peer_xla", "peer"),
        ],
        timings,
    )
    assert found["ours"] == "ours" and found["ours_best"] == "ours_xla"
    best = found["per_peer_best_setting"]["peer"]
    assert best == {"peer_setting": "peer_xla", "speedup": 2.0, "speedup_ours_best": 4.0}
    assert found["per_peer"]["peer"]["speedup_paired"] == 3.0
    # bfloat16 contenders never stand in for the float32 ones; they get their own comparison.
    timings.update(ours_bf16={"seconds": [0.25] * 3}, peer_bf16={"seconds": [0.3] * 3})
    found = cases.ratios(
        [
            contender("ours", "ours"),
            contender("ours_bf16", "ours"),
            contender("peer", "peer"),
            contender("peer_bf16", "peer"),
        ],
        timings,
    )
    assert found["ours_best"] == "ours" and set(found["per_peer_best_setting"]) == {"peer"}
    assert found["per_peer_best_setting"]["peer"]["speedup"] == 3.0
    assert found["mixed_bfloat16"] == {
        "ours": "ours_bf16",
        "per_peer": {"peer": 12.0, "peer_bf16": 1.2},
    }


def test_unknown_workloads_are_refused_before_anything_runs(capsys):
    with pytest.raises(SystemExit):
        run_all.main(["--workloads", "W1,W9"])
    assert "unknown workloads ['W9']" in capsys.readouterr().err


@pytest.mark.slow
def test_quick_suite_runs_and_writes_well_formed_json(tmp_path):
    done = subprocess.run(
        [sys.executable, "benchmarks/run_all.py", "--quick", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (path,) = glob.glob(str(tmp_path / "bench-*-quick.json"))
    with open(path) as file:
        report = json.load(file)
    assert report["schema_version"] == run_all.SCHEMA_VERSION
    assert report["mode"] == "quick"
    assert report["machine"]["cpu_model"] and report["machine"]["versions"]["tensorflow"]
    assert {case["workload"] for case in report["cases"]} == set(run_all.WORKLOADS)
    for case in report["cases"]:
        assert "error" not in case, case
        for name, row in case["contenders"].items():
            assert row["median"] > 0 and row["rounds"] == report["settings"]["rounds"], name
            assert row["gflop"] is None or row["gflop"] > 0
        if case["contenders"]:
            assert case["peak_gflops"] > 0
            assert case["peak_before"]["numpy"] > 0 and case["peak_after"]["tensorflow"] > 0
    by_name = {case["case"]: case for case in report["cases"]}
    assert by_name["W1 CycleGAN step"]["ratios"]["per_peer_best_setting"]["keras_io"]
    assert by_name["W5 DCGAN step"]["ratios"]["per_peer_best_setting"]["documents_loop"]
    for row in by_name["W6 peak memory of stylize()"]["memory"].values():
        assert row["peak_rss_gib"] > 0
    for case in report["cases"]:
        for row in (case.get("first_steps") or {}).values():
            assert row["first_step_seconds"] > 0
    # The table on stdout names every case.
    for case in report["cases"]:
        assert case["case"] in done.stdout


@pytest.mark.parametrize("step_class", ["CycleGANStep", "Pix2PixStep"])
def test_the_pytorch_reference_steps_update_their_networks(step_class):
    # Only where the optional `bench` extra is installed: the peer must really train (a step
    # that changed nothing would flatter our ratio).
    pytest.importorskip("torch")
    from benchmarks.peers import torch_reference

    arguments = (32, 8, 2) if step_class == "CycleGANStep" else (32, 8, 5)
    step = getattr(torch_reference, step_class)(*arguments, 1, threads=1)
    network = step.g_a if step_class == "CycleGANStep" else step.g
    before = [p.detach().clone() for p in network.parameters()]
    losses = [step.step() for _ in range(3)]
    assert all(np.isfinite(losses))
    pairs = zip(network.parameters(), before, strict=True)
    changed = [not bool((p.detach() == b).all()) for p, b in pairs]
    assert sum(changed) >= len(changed) // 2


def test_gpu_peers_never_overwrites_a_result_and_says_when_there_is_no_gpu(tmp_path, capsys):
    from benchmarks import gpu_peers

    kept = tmp_path / "earlier.json"
    kept.write_text("an earlier run")
    with pytest.raises(SystemExit):
        gpu_peers.main(["--out", str(kept)])
    assert "exists" in capsys.readouterr().err
    assert kept.read_text() == "an earlier run"
    status = gpu_peers.tensorflow_status()
    assert status["imports"] and status["version"].startswith("2.")
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a GPU is visible: the no-GPU message cannot be checked here")
    fresh = tmp_path / "fresh.json"
    with pytest.raises(SystemExit):
        gpu_peers.main(["--out", str(fresh)])
    assert "no CUDA device" in capsys.readouterr().err
    assert not fresh.exists()


def _qt_resource_file(files):
    """A Qt resource file (format 3) holding `files` ({name: (bytes, compress)}) in /img."""
    import struct
    import zlib

    names, payload = b"", b""
    name_offsets, data_offsets = {}, {}
    for name in ["img", *files]:
        name_offsets[name] = len(names)
        encoded = name.encode("utf-16-be")
        names += struct.pack(">HI", len(name), 0) + encoded
    for name, (blob, compress) in files.items():
        data_offsets[name] = len(payload)
        stored = struct.pack(">I", len(blob)) + zlib.compress(blob) if compress else blob
        payload += struct.pack(">I", len(stored)) + stored
    entries = [struct.pack(">IHII", 0, 2, 1, 1) + bytes(8)]  # root: one child, entry 1
    entries.append(struct.pack(">IHII", name_offsets["img"], 2, len(files), 2) + bytes(8))
    for name, (_, compress) in files.items():
        flags = 1 if compress else 0
        entries.append(
            struct.pack(">IHHHI", name_offsets[name], flags, 0, 0, data_offsets[name]) + bytes(8)
        )
    tree = b"".join(entries)
    data_at = 24
    names_at = data_at + len(payload)
    tree_at = names_at + len(names)
    header = struct.pack(">4sIIIII", b"qres", 3, tree_at, data_at, names_at, 0)
    return header + payload + names + tree


def test_real_folders_reads_qt_resource_files_and_never_writes_into_a_full_folder(tmp_path):
    from benchmarks import real_folders

    picture = bytes(range(256)) * 3
    text = b"credits: " * 50
    data = _qt_resource_file({"a.webp": (picture, False), "README": (text, True)})
    assert real_folders.read_rcc(data) == {"/img/a.webp": picture, "/img/README": text}
    with pytest.raises(ValueError, match="not a Qt resource"):
        real_folders.read_rcc(b"PK\x03\x04" + bytes(20))
    full = tmp_path / "full"
    full.mkdir()
    (full / "mine.jpg").write_bytes(b"keep")
    with pytest.raises(SystemExit):
        real_folders.main(["--deb", str(tmp_path / "none.deb"), "--out", str(full)])
    assert sorted(p.name for p in full.iterdir()) == ["mine.jpg"]
    not_a_package = tmp_path / "broken.deb"
    not_a_package.write_bytes(b"not a Debian package")
    with pytest.raises(SystemExit, match="apt-get download gcompris-qt-data"):
        real_folders.unpack_deb(not_a_package, tmp_path / "scratch")
