"""`keras-styletransfer explain` end to end on a tiny Pix2Pix saved to a .keras file."""

import os

import numpy as np
import pytest
from PIL import Image

from keras_styletransfer import cli
from keras_styletransfer.models.discriminators import PatchGANDiscriminator
from keras_styletransfer.models.generators import UNetGenerator
from keras_styletransfer.models.pix2pix import Pix2Pix


@pytest.fixture(scope="module")
def saved_pix2pix(tmp_path_factory):
    folder = tmp_path_factory.mktemp("explain_cli")
    model = Pix2Pix(
        UNetGenerator(num_downsamplings=2, filters=4, max_filters=8),
        PatchGANDiscriminator(num_layers=1, filters=4, conditional=True),
    )
    model.compile()
    path = str(folder / "final.keras")
    model.save(path)
    image = np.random.default_rng(0).integers(0, 256, (20, 24, 3), dtype=np.uint8)
    Image.fromarray(image).save(folder / "photo.png")
    (folder / "broken.png").write_bytes(b"not an image")
    return folder, path


@pytest.mark.slow
def test_explain_command_writes_overlays_and_report(saved_pix2pix):
    folder, model_path = saved_pix2pix
    out = folder / "out"
    code = cli.main(
        [
            "explain", "--model", model_path, "--method", "integrated_gradients",
            "--target", "realness", "--steps", "4", "--size", "16",
            str(folder / "photo.png"), str(folder / "broken.png"), "--out", str(out),
        ]
    )  # fmt: skip
    assert code == 0
    written = sorted(os.listdir(out / "photo"))
    assert "report.png" in written and "report.html" in written
    assert "photo_integrated_gradients.png" in written and "photo_edit.png" in written
    overlay = np.asarray(Image.open(out / "photo" / "photo_integrated_gradients.png"))
    assert overlay.shape == (12, 16, 3) and overlay.std() > 0  # 20x24 at long side 16, aspect kept


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--method", "nope"], "Valid methods"),
        (["--target", "nope"], "Valid targets"),
        (["--target", "style"], "style head"),
        (["--method", "grad_cam", "--layer", "nope"], "Valid layers"),
        (["--method", "grad_cam", "--layer", "pool"], "Valid layers"),
    ],
)
def test_explain_command_bad_input_lists_choices(
    saved_pix2pix, arguments, message, capsys, tmp_path
):
    folder, model_path = saved_pix2pix
    code = cli.main(  # each case its own --out: a failed case may leave a partial report
        ["explain", "--model", model_path, "--size", "16", *arguments,
         str(folder / "photo.png"), "--out", str(tmp_path / "bad")]
    )  # fmt: skip
    assert code == 2
    assert message in capsys.readouterr().err


def test_explain_command_unreadable_input(saved_pix2pix, capsys):
    folder, model_path = saved_pix2pix
    code = cli.main(
        ["explain", "--model", model_path, str(folder / "broken.png"), "--out", str(folder / "x")]
    )
    assert code == 2
    assert "no readable images" in capsys.readouterr().err


def test_the_command_knows_every_method_and_target_of_the_library():
    from keras_styletransfer.cli.explain import METHOD_NAMES, TARGET_NAMES
    from keras_styletransfer.explain.attribution import METHODS
    from keras_styletransfer.explain.targets import TARGETS

    assert tuple(METHODS) == METHOD_NAMES
    assert tuple(TARGETS) == TARGET_NAMES


def test_explain_in_a_fresh_process_prints_no_tensorflow_start_up_lines(saved_pix2pix):
    import subprocess
    import sys

    folder, model_path = saved_pix2pix
    script = os.path.join(os.path.dirname(sys.executable), "keras-styletransfer")
    result = subprocess.run(
        [script, "explain", "--model", model_path, "--target", "style", "--size", "16",
         str(folder / "photo.png"), "--out", str(folder / "fresh")],
        capture_output=True, text=True, timeout=300,
        env={k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"},
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    # TensorFlow was loaded (the model was), yet stderr holds the one error line only.
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "error:" in lines[0] and "style head" in lines[0], result.stderr


def test_explain_keeps_the_image_size_and_quiet_prints_nothing(saved_pix2pix, capsys):
    folder, model_path = saved_pix2pix
    out = folder / "own_size"
    code = cli.main(
        ["explain", "--quiet", "--model", model_path, "--method", "saliency",
         str(folder / "photo.png"), "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    # 20x24 photo, explained at its own size (no --size), not squeezed to a square.
    overlay = np.asarray(Image.open(out / "photo" / "photo_saliency.png"))
    assert overlay.shape == (20, 24, 3)
    page = (out / "photo" / "report.html").read_text()
    assert "How to read the columns" in page and "towards real" in page
