"""train-style on the user's own folders: every family's layout, style indices, outputs."""

import json
import os

import numpy as np
import pytest
from PIL import Image

from keras_styletransfer.cli import main
from keras_styletransfer.config import TranslationConfig
from keras_styletransfer.errors import InputError
from keras_styletransfer.training.checks import validate_translation_config
from keras_styletransfer.training.translation import build_folder_dataset

COLOURS = {"photo": (0, 0, 255), "pencil": (0, 255, 0), "cartoon": (255, 0, 0)}


def write_images(folder, count, colour=None, size=(40, 40), seed=0):
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    for index in range(count):
        if colour is None:
            pixels = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
        else:
            pixels = np.broadcast_to(np.array(colour, np.uint8), (*size, 3))
        Image.fromarray(np.ascontiguousarray(pixels)).save(os.path.join(folder, f"{index}.png"))


def style_folders(root):
    for name, colour in COLOURS.items():
        write_images(root / name, 4, colour)
    return str(root)


def test_multistyle_folder_indices_follow_the_models_domains(tmp_path):
    root = style_folders(tmp_path / "styles")
    # The model's domains are (pencil, cartoon, photo); the folders sort as cartoon, pencil, photo.
    config = validate_translation_config(
        TranslationConfig(
            family="multistyle",
            styles=("pencil", "cartoon"),
            data=root,
            image_size=32,
            batch_size=4,
        )
    )
    dataset, previews = build_folder_dataset(config)
    content, styled, indices = next(iter(dataset))
    assert content.shape == (4, 32, 32, 3) and styled.shape == (4, 32, 32, 3)
    blue = np.array([-1.0, -1.0, 1.0])
    assert np.allclose(np.asarray(content).reshape(-1, 3), blue, atol=1e-2)
    expected = {0: np.array([-1.0, 1.0, -1.0]), 1: np.array([1.0, -1.0, -1.0])}
    seen = set()
    for image, index in zip(np.asarray(styled), np.asarray(indices), strict=True):
        assert np.allclose(image.reshape(-1, 3), expected[int(index)], atol=1e-2)
        seen.add(int(index))
    assert previews.content.shape[1:] == (32, 32, 3)
    assert np.all(previews.content[..., 2] == 255)  # content previews are the photos

    wrong = TranslationConfig(family="multistyle", styles=("pencil",), data=root, image_size=32)
    with pytest.raises(InputError, match="does not match the style sub-folders"):
        build_folder_dataset(validate_translation_config(wrong))
    no_photo = tmp_path / "no_photo"
    write_images(no_photo / "pencil", 2, COLOURS["pencil"])
    write_images(no_photo / "cartoon", 2, COLOURS["cartoon"])
    config = TranslationConfig(
        family="multistyle", styles=("cartoon", "pencil"), data=str(no_photo), image_size=32
    )
    with pytest.raises(InputError, match="photo/ sub-folder"):
        build_folder_dataset(validate_translation_config(config))


def test_bad_data_arguments_are_refused_before_training(tmp_path):
    with pytest.raises(InputError, match="neither 'offline'"):
        validate_translation_config(TranslationConfig(data=str(tmp_path / "absent")))
    with pytest.raises(InputError, match="--family cyclegan"):
        validate_translation_config(TranslationConfig(data="tfds:cycle_gan/horse2zebra"))
    assert main(["train-style", "--data", str(tmp_path / "absent"), "--epochs", "1"]) == 2


@pytest.mark.slow
@pytest.mark.parametrize("family", ["pix2pix", "cyclegan", "multistyle"])
def test_train_style_on_a_folder_end_to_end(tmp_path, family, capsys):
    root = tmp_path / "data"
    if family == "pix2pix":
        write_images(root / "A", 6, seed=1)
        write_images(root / "B", 6, seed=2)
        columns = 3  # source | output | target
    elif family == "cyclegan":
        for split, seed in (("trainA", 1), ("trainB", 2), ("testA", 3), ("testB", 4)):
            write_images(root / split, 4, seed=seed)
        columns = 2
    else:
        style_folders(root)
        columns = 3  # photo | pencil | cartoon
    run_dir = tmp_path / "run"
    code = main(
        [
            "train-style",
            "--family",
            family,
            "--data",
            str(root),
            "--epochs",
            "1",
            "--steps-per-epoch",
            "2",
            "--batch-size",
            "2",
            "--image-size",
            "32",
            "--filters",
            "4",
            "--run-dir",
            str(run_dir),
        ]
    )
    assert code == 0
    stored = TranslationConfig.load(str(run_dir / "config.json"))
    assert stored.data == str(root)
    expected_styles = {"pix2pix": ("data",), "cyclegan": ("data",)}
    assert stored.styles == expected_styles.get(family, ("cartoon", "pencil"))
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["data"] == str(root) and metrics["styles"] == {}
    history = json.loads((run_dir / "history.json").read_text())
    assert all(np.isfinite(v[-1]) for k, v in history.items() if k != "initial_epoch")
    grid = np.asarray(Image.open(run_dir / "results.png"))
    scale = 128 // 32
    assert grid.shape[1] >= columns * 32 * scale
    assert (run_dir / "final.keras").exists() and (run_dir / "previews" / "epoch_001.png").exists()
    # No held-out ground truth exists for a folder: evaluate says so instead of inventing one.
    assert main(["evaluate", "--model", str(run_dir / "final.keras")]) == 2
    assert "no such ground truth" in capsys.readouterr().err
