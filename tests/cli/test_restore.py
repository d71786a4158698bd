"""`train-restore` and `restore` end to end: a tiny run, its resume, full-size restoration of a
300x500 photo, and one-line errors."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from keras_styletransfer.cli.main import main

TINY = ["--image-size", "32", "--filters", "8", "--batch-size", "2", "--steps-per-epoch", "2"]


def run_cli(*args):
    """The installed console script in a fresh process, as a user runs it."""
    script = os.path.join(os.path.dirname(sys.executable), "keras-styletransfer")
    return subprocess.run([script, *args], capture_output=True, text=True, timeout=600)


def assert_one_line_error(result, *fragments):
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.strip().splitlines() if "error:" in line]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny two-task restoration run (denoise, sr2), one epoch of two steps."""
    run_dir = tmp_path_factory.mktemp("restore") / "run"
    argv = ["train-restore", "--tasks", "denoise,sr2", "--epochs", "1", "--run-dir", str(run_dir)]
    assert main([*argv, *TINY]) == 0
    return run_dir, argv


@pytest.fixture(scope="module")
def photo_file(tmp_path_factory):
    """A real photo, 300 high and 500 wide (not a multiple of the model's 8-px stride)."""
    from keras_styletransfer.data.offline_photos import load_photo

    path = tmp_path_factory.mktemp("photos") / "china.png"
    Image.fromarray(load_photo("china")).resize((500, 300)).save(path)
    return path


@pytest.mark.slow
def test_train_restore_writes_a_scored_run(trained):
    run_dir, _ = trained
    for name in ("final.keras", "generator.keras", "results.png", "metrics.json", "previews"):
        assert (run_dir / name).exists(), name
    config = json.loads((run_dir / "config.json").read_text())
    assert config["family"] == "multistyle_paired" and config["data"] == "restoration"
    assert config["styles"] == ["denoise", "sr2"] and config["learning_rate"] == 1e-3
    metrics = json.loads((run_dir / "metrics.json").read_text())
    denoise = metrics["tasks"]["denoise"]["256"]
    assert {"input", "model", "non-local means", "by_variant"} <= set(denoise)
    assert denoise["count"] == 8  # four held-out photos, two variants each
    # The residual generator starts as the identity: after two steps it is close to it.
    sr2 = metrics["tasks"]["sr2"]["256"]
    assert abs(sr2["model"]["psnr"] - sr2["input"]["psnr"]) < 1.0

    from keras_styletransfer.models.loading import load_trained

    model = load_trained(str(run_dir / "final.keras"))
    assert model.style_names == ["denoise", "sr2"] and model.reconstruction == "l2"
    assert model.generator.get_config()["residual"] is True
    # Each task's squared error weighs the inverse of its inputs' (sr2's is ~3.5x smaller),
    # and the learning rate decays to 0 over the run's second half.
    from keras_styletransfer.models.presets import RESTORATION_LOSS_WEIGHTS as LOSS_WEIGHTS
    from keras_styletransfer.optimizers import LinearDecayAfter

    assert model.style_weights == [LOSS_WEIGHTS["denoise"], LOSS_WEIGHTS["sr2"]]
    assert LOSS_WEIGHTS["sr2"] > 3 * LOSS_WEIGHTS["denoise"]
    assert isinstance(model.generator_optimizer._learning_rate, LinearDecayAfter)


@pytest.mark.slow
def test_a_killed_train_restore_run_resumes_where_it_stopped(tmp_path):
    import signal
    import time

    run_dir = tmp_path / "run"
    script = os.path.join(os.path.dirname(sys.executable), "keras-styletransfer")
    command = [script, "train-restore", "--tasks", "sr2", "--epochs", "3", "--run-dir"]
    command += [str(run_dir), *TINY[:-1], "30"]  # 30 steps per epoch
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = run_dir / "previews" / "epoch_001.png"
    deadline = time.time() + 300
    while not first.exists() and time.time() < deadline and process.poll() is None:
        time.sleep(0.2)
    time.sleep(0.5)  # let the epoch's backup finish writing
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert first.exists() and not (run_dir / "final.keras").exists()

    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "resumed from epoch" in result.stdout
    history = json.loads((run_dir / "history.json").read_text())
    assert history["initial_epoch"] >= 1 and len(history["g_loss"]) == 3


@pytest.mark.slow
def test_restore_writes_full_size_outputs_and_scores_them(trained, photo_file, tmp_path, capsys):
    run_dir, _ = trained
    out = tmp_path / "out"
    args = ["restore", "--task", "sr2", "--model", str(run_dir / "final.keras"), str(photo_file)]
    assert main([*args, "--out", str(out), "--degrade", "--max-tile-pixels", "40000"]) == 0
    printed = capsys.readouterr().out
    assert "china: sr2 PSNR / SSIM against the original" in printed
    for name in ("china.png", "china_baseline.png", "china_degraded.png", "contact_sheet.png"):
        assert (out / name).exists(), name
    restored = np.asarray(Image.open(out / "china.png"))
    degraded = np.asarray(Image.open(out / "china_degraded.png"))
    assert restored.shape == degraded.shape == (300, 500, 3)
    # Nearly untrained, the residual model stays close to its input: tiles blend without seams.
    assert np.abs(restored.astype(int) - degraded).mean() < 8
    # The same command again refuses to replace the outputs without --overwrite.
    assert main([*args, "--out", str(out)]) == 2


def test_unknown_tasks_are_one_line_errors(tmp_path):
    result = run_cli("train-restore", "--tasks", "denoise,sharpen", "--run-dir", str(tmp_path))
    assert_one_line_error(result, "unknown restoration task 'sharpen'", "deblur")
    model = tmp_path / "m.keras"
    model.write_bytes(b"not a model")
    result = run_cli("restore", "--task", "sharpen", "--model", str(model), str(model))
    assert_one_line_error(result, "sharpen")


@pytest.mark.slow
def test_restore_refuses_a_task_the_model_lacks_and_style_models(trained, photo_file, tmp_path):
    run_dir, _ = trained
    model = str(run_dir / "final.keras")
    out = str(tmp_path / "o")
    result = run_cli("restore", "--task", "deblur", "--model", model, str(photo_file), "--out", out)
    assert_one_line_error(result, "trained for denoise, sr2, not deblur")
    from keras_styletransfer.serving.pretrained import pretrained_files

    shipped = pretrained_files()[0]
    result = run_cli("restore", "--task", "sr2", "--model", shipped, str(photo_file), "--out", out)
    assert_one_line_error(result, "not a restoration model", "train-restore")


def test_residual_restoration_generator_starts_as_the_identity_and_round_trips(tmp_path):
    import keras

    from keras_styletransfer.models.multistyle_paired import StyleUNetGenerator

    generator = StyleUNetGenerator(
        num_styles=2, num_downsamplings=3, filters=4, residual=True, refine_layers=2
    )
    images = np.random.default_rng(0).uniform(-1, 1, (2, 16, 16, 3)).astype("float32")
    inputs = {"image": images, "style": np.eye(2, dtype="float32"), "strength": np.ones((2, 1))}
    outputs = np.asarray(generator(inputs))
    np.testing.assert_allclose(outputs, images, atol=1e-6)  # the shift and clip round only
    assert generator.get_layer("refine2") is not None
    path = str(tmp_path / "g.keras")
    generator.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(np.asarray(loaded(inputs)), outputs)
    config = loaded.get_config()
    assert config["residual"] is True and config["refine_layers"] == 2
    with pytest.raises(ValueError, match="residual"):
        StyleUNetGenerator(num_styles=1, residual="yes")


@pytest.mark.slow
def test_the_benchmark_scores_a_model_against_every_baseline(trained, tmp_path):
    from benchmarks import restoration

    run_dir, _ = trained
    out = tmp_path / "restoration.json"
    argv = ["--model", str(run_dir / "final.keras"), "--views", "crops", "--out", str(out)]
    assert restoration.main(argv) == 0
    result = json.loads(out.read_text())
    assert result["run"]["config"]["styles"] == ["denoise", "sr2"]
    denoise = result["scores"]["denoise"]["crops"]
    assert {"input", "model", "non-local means"} <= set(denoise)
    summary = result["summary"]["sr2"]["crops"]
    # The bicubic baseline is the input itself: the model beats it only by beating the input.
    assert summary["beats_every_baseline"] == (
        result["scores"]["sr2"]["crops"]["model"]["psnr"]
        > result["scores"]["sr2"]["crops"]["input"]["psnr"]
        and result["scores"]["sr2"]["crops"]["model"]["ssim"]
        > result["scores"]["sr2"]["crops"]["input"]["ssim"]
    )
    assert set(result["tasks_won_by_view"]) == {"crops"}


# --- videos: restored frame by frame through `serving.video`, as `stylize` stylises them ---------


@pytest.fixture(scope="module")
def identity_model(tmp_path_factory):
    """An untrained denoise / sr2 restoration model: its residual head makes it the identity."""
    from keras_styletransfer.models import PatchGANDiscriminator
    from keras_styletransfer.models.multistyle_paired import PairedMultiStyle, StyleUNetGenerator

    generator = StyleUNetGenerator(
        num_styles=2, num_downsamplings=2, filters=4, max_filters=8, residual=True
    )
    discriminator = PatchGANDiscriminator(
        num_layers=1, filters=4, conditional=True, condition_channels=5, name="patchgan"
    )
    path = tmp_path_factory.mktemp("model") / "final.keras"
    PairedMultiStyle(generator, discriminator, ["denoise", "sr2"], seed=0).save(path)
    return str(path)


@pytest.fixture
def noisy_clip(tmp_path):
    """A 6-frame 48x32 clip panned across a texture, with sensor noise the model passes on."""
    from keras_styletransfer.serving.video import panned_clip
    from tests.serving.test_video import texture, write_clip

    path = str(tmp_path / "clip.mp4")
    write_clip(path, panned_clip(texture(), frames=6, size=(32, 48), step=(0, 2), noise=4.0))
    return path


def restore_here(*args):
    """`keras-styletransfer restore ARGS` in this process: (status, stdout, stderr)."""
    from tests.serving.test_video import run_cli as run_in_process

    return run_in_process("restore", *args)


def flicker_of(stdout):
    import re

    return float(re.search(r"flicker ([+-][0-9.]+) grey levels", stdout).group(1))


def test_restore_writes_a_video_smoothed_over_time_and_never_overwrites(
    identity_model, noisy_clip, tmp_path
):
    from keras_styletransfer.serving.video import read_frames, video_info

    out = str(tmp_path / "out")
    command = ["--task", "denoise", "--model", identity_model, noisy_clip, "--out", out]
    status, stdout, stderr = restore_here(*command)
    assert status == 0, stderr
    assert os.listdir(out) == ["clip.mp4"]  # no contact sheet without images
    assert "restored 6 frame(s)" in stdout and "flow smoothing, weight 0.6" in stdout
    info = video_info(os.path.join(out, "clip.mp4"))
    assert (info.width, info.height) == (48, 32)
    assert len(list(read_frames(os.path.join(out, "clip.mp4")))) == 6
    status, _, stderr = restore_here(*command)
    assert status == 2 and "--overwrite" in stderr and len(stderr.strip().splitlines()) == 1
    status, plain, _ = restore_here(*command, "--overwrite", "--temporal", "none")
    assert status == 0 and "frame by frame" in plain
    # The identity passes the sensor noise on; flow smoothing averages it away over frames.
    assert flicker_of(stdout) < flicker_of(plain) - 0.5, (stdout, plain)
    status, _, stderr = restore_here(*command, "--overwrite", "--temporal-weight", "1")
    assert status == 2 and "[0, 1)" in stderr


def test_restore_degrades_and_baselines_a_video_frame_by_frame(
    identity_model, noisy_clip, tmp_path
):
    from keras_styletransfer.serving.video import read_frames

    out = tmp_path / "out"
    status, stdout, stderr = restore_here(
        "--task", "denoise", "--model", identity_model, noisy_clip, "--out", str(out),
        "--degrade", "--max-frames", "4", "--seed", "1",
    )  # fmt: skip
    assert status == 0, stderr
    assert sorted(os.listdir(out)) == ["clip.mp4", "clip_baseline.mp4", "clip_degraded.mp4"]
    videos = {name: list(read_frames(out / name)) for name in os.listdir(out)}
    assert [len(frames) for frames in videos.values()] == [4, 4, 4]
    assert "restored 4 frame(s)" in stdout
    assert "mean of 4 frames" in stdout and "PSNR / SSIM against the original" in stdout
    clean = list(read_frames(noisy_clip, 4))
    # Each frame is degraded (denoise: strong noise or JPEG) before it is restored.
    degraded = videos["clip_degraded.mp4"]
    assert np.abs(degraded[1].astype(float) - clean[1]).mean() > 3


def test_folders_holding_videos_restore_them_as_videos(identity_model, noisy_clip, tmp_path):
    clips = tmp_path / "clips"
    (clips / "more").mkdir(parents=True)
    os.replace(noisy_clip, clips / "more" / "clip.mp4")
    out = tmp_path / "out"
    status, stdout, stderr = restore_here(
        "--task", "sr2", "--model", identity_model, str(clips), "--out", str(out),
        "--max-frames", "2", "--temporal", "none",
    )  # fmt: skip
    assert status == 0, stderr
    assert os.listdir(out) == ["clip.mp4"] and "restored 2 frame(s)" in stdout
    Image.fromarray(np.full((16, 24, 3), 128, np.uint8)).save(clips / "still.png")
    status, stdout, stderr = restore_here(
        "--task", "sr2", "--model", identity_model, str(clips), "--out", str(out),
        "--max-frames", "2", "--overwrite", "--baseline",
    )  # fmt: skip
    assert status == 0, stderr
    assert sorted(os.listdir(out)) == [
        "clip.mp4", "clip_baseline.mp4", "contact_sheet.png", "still.png", "still_baseline.png"
    ]  # fmt: skip
    assert "restored 1 image(s)" in stdout and "restored 2 frame(s)" in stdout
