"""The command line as a user runs it: one-line errors for bad input, a real short training run."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from keras_styletransfer.cli import main


def run_cli(*args):
    """Run the installed console script in a fresh process, as a user would."""
    script = os.path.join(os.path.dirname(sys.executable), "keras-styletransfer")
    return subprocess.run([script, *args], capture_output=True, text=True, timeout=600)


def assert_one_line_error(result, *fragments):
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    error_lines = [line for line in lines if "error:" in line]
    assert len(error_lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in error_lines[0], error_lines[0]


def test_unknown_preset_is_one_clear_line_listing_the_presets():
    result = run_cli("train", "--preset", "doc009")
    assert_one_line_error(result, "unknown preset 'doc009'", "mnist_dcgan")


def test_missing_data_folder_is_one_clear_line(tmp_path):
    result = run_cli("train", "--preset", "mnist_dcgan", "--data", str(tmp_path / "nope"))
    assert_one_line_error(result, "not found", "folder")


@pytest.mark.parametrize("value", ["0", "-4", "abc"])
def test_non_positive_batch_size_is_one_clear_line(value):
    result = run_cli("train", "--preset", "mnist_dcgan", "--batch-size", value)
    assert_one_line_error(result, "--batch-size", "positive integer")


def test_images_of_the_wrong_shape_are_one_clear_line(tmp_path):
    path = tmp_path / "faces.npy"
    np.save(path, np.zeros((32, 64, 64, 3), np.uint8))
    result = run_cli("train", "--preset", "mnist_dcgan", "--data", str(path))
    assert_one_line_error(result, "(28, 28, 1)", "(64, 64, 3)")


def test_folder_with_the_wrong_channel_count_is_one_clear_line(tmp_path):
    for index in range(4):
        Image.fromarray(np.zeros((28, 28, 3), np.uint8)).save(tmp_path / f"{index}.png")
    result = run_cli("train", "--preset", "mnist_dcgan", "--data", str(tmp_path))
    assert_one_line_error(result, "1-channel", "3 channel", "--convert-channels")


def test_a_file_that_is_not_an_array_is_one_clear_line(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("1,2,3")
    result = run_cli("train", "--preset", "mnist_dcgan", "--data", str(path))
    assert_one_line_error(result, "not a .npy or .npz")


def test_a_finished_run_is_not_overwritten_without_asking(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "final.keras").write_bytes(b"a trained model")
    result = run_cli("train", "--preset", "mnist_dcgan", "--run-dir", str(run_dir))
    assert_one_line_error(result, "already holds a finished run", "--overwrite")
    assert (run_dir / "final.keras").read_bytes() == b"a trained model"


def test_an_interrupted_run_is_not_resumed_with_other_settings(tmp_path):
    from keras_styletransfer.config import TrainConfig

    run_dir = tmp_path / "run"
    (run_dir / "backup").mkdir(parents=True)
    (run_dir / "backup" / "epoch_0001.weights.h5").write_bytes(b"weights")
    TrainConfig(preset="mlp_gan", batch_size=16).save(str(run_dir))
    result = run_cli("train", "--preset", "mnist_dcgan", "--run-dir", str(run_dir))
    assert_one_line_error(result, "interrupted run with other settings", "mlp_gan")
    assert (run_dir / "backup" / "epoch_0001.weights.h5").read_bytes() == b"weights"


def test_presets_are_listed(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    assert {"mlp_gan", "dcgan64", "mnist_dcgan", "mnist_faithful"} <= {
        line.split()[0] for line in out.splitlines()
    }
    # The image-to-image presets too, with their family, the family's default marked.
    lines = {line.split()[0]: line for line in out.splitlines()}
    assert lines["cut_operators"].split()[1] == "[cut]"
    assert lines["cyclegan_resnet3*"].split()[1] == "[cyclegan]"


def test_train_writes_grids_logs_checkpoints_and_a_model_to_sample_from(tmp_path, capsys):
    run_dir = tmp_path / "run"
    args = [
        "train",
        "--preset",
        "mnist_dcgan",
        "--epochs",
        "2",
        "--steps-per-epoch",
        "3",
        "--batch-size",
        "8",
        "--run-dir",
        str(run_dir),
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert str(run_dir) in out and "final.keras" in out
    assert json.loads((run_dir / "config.json").read_text())["preset"] == "mnist_dcgan"
    assert sorted(os.listdir(run_dir / "samples")) == ["epoch_001.png", "epoch_002.png"]
    assert (run_dir / "checkpoints" / "last.keras").is_file()
    assert any(name.startswith("events") for _, _, n in os.walk(run_dir / "logs") for name in n)
    grid = np.asarray(Image.open(run_dir / "samples" / "epoch_002.png"))
    assert grid.ndim == 2 and grid.shape[0] > 28 * 8

    sample_png = tmp_path / "grid.png"
    assert (
        main(
            [
                "sample",
                "--model",
                str(run_dir / "final.keras"),
                "--out",
                str(sample_png),
                "--num",
                "9",
            ]
        )
        == 0
    )
    assert np.asarray(Image.open(sample_png)).shape == ((3 * 30 - 2) * 3, (3 * 30 - 2) * 3)


def test_sample_with_a_missing_or_unreadable_model_is_one_clear_line(tmp_path):
    assert_one_line_error(
        run_cli("sample", "--model", str(tmp_path / "x.keras"), "--out", "a.png"), "not found"
    )
    broken = tmp_path / "broken.keras"
    broken.write_bytes(b"not a zip file")
    assert_one_line_error(
        run_cli("sample", "--model", str(broken), "--out", str(tmp_path / "a.png")),
        "not a Keras model archive",
    )


@pytest.mark.slow
def test_a_killed_training_run_resumes_where_it_stopped(tmp_path):
    import signal
    import time

    run_dir = tmp_path / "run"
    script = os.path.join(os.path.dirname(sys.executable), "keras-styletransfer")
    command = [
        script,
        "train",
        "--preset",
        "mnist_dcgan",
        "--epochs",
        "3",
        "--steps-per-epoch",
        "40",
        "--batch-size",
        "8",
        "--run-dir",
        str(run_dir),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    first_grid = run_dir / "samples" / "epoch_001.png"
    while not first_grid.exists() and time.time() < deadline and process.poll() is None:
        time.sleep(0.2)
    time.sleep(0.5)  # let the epoch's backup finish writing
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert first_grid.exists()
    assert not (run_dir / "final.keras").exists()

    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "resumed from epoch" in result.stdout
    history = json.loads((run_dir / "history.json").read_text())
    # The resumed run trained only the epochs the killed one had not finished, and its history
    # holds every epoch, those before the kill too.
    assert history["initial_epoch"] >= 1
    assert len(history["g_loss"]) == 3
    assert (run_dir / "final.keras").is_file()


def saved_pix2pix(path):
    import keras

    from keras_styletransfer.models.pix2pix import Pix2Pix

    images = keras.Input((None, None, 3))
    generator = keras.Model(
        images, keras.layers.Conv2D(3, 3, padding="same", activation="tanh")(images)
    )
    condition, image = keras.Input((None, None, 3)), keras.Input((None, None, 3))
    joined = keras.layers.Concatenate()([condition, image])
    discriminator = keras.Model([condition, image], keras.layers.Conv2D(1, 4)(joined))
    model = Pix2Pix(generator, discriminator)
    model.compile()
    model.save(path)
    return model


def test_stylize_writes_every_readable_image_at_its_size_and_a_contact_sheet(tmp_path):
    model_path = tmp_path / "p2p.keras"
    saved_pix2pix(str(model_path))
    inputs = tmp_path / "in"
    inputs.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)).save(inputs / "a.png")
    Image.fromarray(rng.integers(0, 256, (20, 30, 4), dtype=np.uint8)).save(inputs / "rgba.png")
    Image.fromarray(rng.integers(0, 65535, (16, 16), dtype=np.uint16)).save(inputs / "deep.png")
    (inputs / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    out = tmp_path / "out"
    result = run_cli("stylize", "--model", str(model_path), "--out", str(out), str(inputs))
    assert result.returncode == 0, result.stderr
    assert "skipped 1 unreadable file" in result.stdout
    sizes = {p.name: Image.open(p).size for p in out.glob("*.png")}
    assert sizes["a.png"] == (53, 37) and sizes["rgba.png"] == (30, 20)
    assert sizes["deep.png"] == (16, 16)
    assert "contact_sheet.png" in sizes
    # The command runs its convolutions with oneDNN's cached weight layout
    # (`keras_styletransfer_cli`): the pixels must be those of the plain in-process path.
    from keras_styletransfer.images import to_uint8
    from keras_styletransfer.models.loading import parts_of
    from keras_styletransfer.serving.inference import Stylizer

    photo = np.asarray(Image.open(inputs / "a.png"))
    expected = to_uint8(Stylizer(parts_of(str(model_path)).generator)([photo])[0])
    written = np.asarray(Image.open(out / "a.png"))
    assert np.abs(written.astype(int) - expected.astype(int)).max() <= 1


@pytest.mark.slow
def test_stylize_bad_options_are_one_clear_line(tmp_path):
    model_path = tmp_path / "p2p.keras"
    saved_pix2pix(str(model_path))
    image = tmp_path / "a.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(image)
    out = str(tmp_path / "out")
    assert_one_line_error(
        run_cli(
            "stylize", "--model", str(model_path), "--strength", "1.5", "--out", out, str(image)
        ),
        "strength must be in [0, 1]",
    )
    assert_one_line_error(
        run_cli(
            "stylize", "--model", str(model_path), "--style", "pencil", "--out", out, str(image)
        ),
        "one style only",
    )
    assert_one_line_error(
        run_cli("stylize", "--model", str(tmp_path / "none.keras"), "--out", out, str(image)),
        "not found",
    )
    assert_one_line_error(
        run_cli("stylize", "--model", str(model_path), "--out", out, str(tmp_path / "nope")),
        "neither a file nor a folder",
    )


FROZEN_PROBE = """
import json, os, sys
import keras_styletransfer_cli
preload = sys.argv[1] == "preload"
if preload:
    import tensorflow
sys.argv = ["keras-styletransfer", *sys.argv[2:], "--help"]
try:
    keras_styletransfer_cli.main()
except SystemExit:
    pass
import numpy as np
import tensorflow as tf
x = tf.constant(np.ones((1, 8, 8, 4), "float32"))
w = tf.Variable(np.ones((3, 3, 4, 4), "float32"))
conv = tf.function(lambda a: tf.nn.conv2d(a, w, 1, "SAME"))
before = float(conv(x)[0, 4, 4, 0])
w.assign(w * 2.0)
after = float(conv(x)[0, 4, 4, 0])
print(json.dumps({"flag": os.environ.get("TF_ONEDNN_ASSUME_FROZEN_WEIGHTS"),
                  "ratio": after / before}))
"""


@pytest.mark.parametrize(
    "mode, command, frozen",
    [("fresh", "stylize", True), ("fresh", "train-style", False), ("preload", "stylize", False)],
)
def test_only_the_stylize_process_keeps_convolution_weights_in_onednn_layout(mode, command, frozen):
    # TensorFlow reads TF_ONEDNN_ASSUME_FROZEN_WEIGHTS once and then never notices a changed
    # weight (ratio 1 below): the entry point may set it for `stylize` alone, in a process
    # where TensorFlow is not loaded yet; a training command must see its weights change.
    env = {k: v for k, v in os.environ.items() if k != "TF_ONEDNN_ASSUME_FROZEN_WEIGHTS"}
    process = subprocess.run(
        [sys.executable, "-c", FROZEN_PROBE, mode, command],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert process.returncode == 0, process.stderr
    seen = json.loads(process.stdout.strip().splitlines()[-1])
    assert seen["flag"] == ("1" if frozen else None)
    assert seen["ratio"] == (1.0 if frozen else 2.0)
