"""train_translation and the train-style / evaluate / stylize commands, end to end on tiny runs."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from keras_styletransfer.config import TranslationConfig
from keras_styletransfer.errors import InputError
from keras_styletransfer.training.checks import validate_translation_config

OUTPUTS = (
    "config.json",
    "final.keras",
    "generator.keras",
    "results.png",
    "loss_curves.png",
    "metrics.json",
    "history.json",
    "checkpoints/last.keras",
    "previews/epoch_002.png",
    "explanations/report.png",
    "explanations/report.html",
)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = str(tmp_path / "cache")
    monkeypatch.setenv("KERAS_STYLETRANSFER_CACHE", folder)
    return folder


def tiny(family, styles=("pencil",), **kwargs):
    values = dict(
        family=family,
        styles=styles,
        image_size=32,
        epochs=2,
        steps_per_epoch=2,
        batch_size=2,
        filters=4,
    )
    values.update(kwargs)
    return TranslationConfig(**values)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("family", "styles"),
    [
        ("pix2pix", ("pencil",)),
        ("cyclegan", ("cartoon",)),
        ("multistyle", ("pencil", "cartoon")),
        ("multistyle_paired", ("ink", "oil")),
    ],
)
def test_each_family_trains_evaluates_and_writes_its_outputs(family, styles, tmp_path, cache):
    from keras_styletransfer.training.translation import train_translation

    result = train_translation(tiny(family, styles), str(tmp_path / "run"), verbose=0)
    for name in OUTPUTS:
        assert (tmp_path / "run" / name).exists(), name
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert set(metrics["styles"]) == set(styles)
    for parts in metrics["styles"].values():
        for entry in parts.values():
            assert -1 <= entry["ssim"] <= 1 and np.isfinite(entry["psnr"])
            # The baseline is measured, not assumed: the photo differs from its stylisation.
            assert entry["baseline_ssim"] < 0.95
    for parts in metrics["styles"].values():  # every held-out view is scored
        assert list(parts) == ["crops", "256", "full"]
    # The results sheet: held-out photos at 512 px (long side), the photo and each style in a
    # row, the exact styles below; every output also on its own at that size.
    sheet = np.asarray(Image.open(tmp_path / "run" / "results.png"))
    assert sheet.shape[1] >= 512 * (1 + len(styles)) and sheet.shape[0] >= 2 * 3 * 300
    singles = sorted(os.listdir(tmp_path / "run" / "results"))
    assert len(singles) == 3 * len(styles) + (len(styles) > 1)  # and one blend
    assert max(Image.open(tmp_path / "run" / "results" / singles[0]).size) == 512
    assert len(result.history["g_loss"]) == 2
    import tensorflow as tf

    exported = tmp_path / "run" / "exported" / "_".join([family, *styles]) / "1"
    served = tf.saved_model.load(str(exported))
    assert {"serving_default", "serve_uint8", "serve_bytes"} <= set(served.signatures)
    assert (tmp_path / "run" / "patch_map.png").exists() == (family != "multistyle")
    assert os.path.getsize(tmp_path / "run" / "explanations" / "report.png") > 0


def test_translation_configs_are_checked_before_any_work():
    with pytest.raises(InputError, match="unknown family 'stargan'"):
        validate_translation_config(tiny("stargan"))
    with pytest.raises(InputError, match="learns one style per model"):
        validate_translation_config(tiny("pix2pix", ("pencil", "cartoon")))
    with pytest.raises(InputError, match="unknown or missing style"):
        validate_translation_config(tiny("multistyle", ("sepia",)))
    with pytest.raises(InputError, match="multiple of 32"):
        validate_translation_config(tiny("pix2pix", image_size=48))


def run_cli(*args, env=None):
    script = os.path.join(os.path.dirname(sys.executable), "keras-styletransfer")
    return subprocess.run([script, *args], capture_output=True, text=True, timeout=900, env=env)


@pytest.mark.slow
def test_train_style_then_evaluate_then_stylize_from_the_command_line(tmp_path, cache):
    env = {**os.environ, "KERAS_STYLETRANSFER_CACHE": cache}
    run_dir = str(tmp_path / "run")
    common = ["--image-size", "32", "--filters", "4", "--batch-size", "2"]
    result = run_cli(
        "train-style",
        "--family",
        "multistyle",
        "--styles",
        "pencil,cartoon",
        "--epochs",
        "1",
        "--steps-per-epoch",
        "2",
        "--run-dir",
        run_dir,
        *common,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "gap closed" in result.stdout
    again = run_cli("train-style", "--family", "multistyle", "--run-dir", run_dir, env=env)
    assert again.returncode == 2 and "already holds a finished run" in again.stderr

    evaluation = run_cli(
        "evaluate", "--model", f"{run_dir}/final.keras", "--out", str(tmp_path / "m.json"), env=env
    )
    assert evaluation.returncode == 0, evaluation.stderr
    written = json.loads((tmp_path / "m.json").read_text())
    assert set(written["styles"]) == set(written["judge"]) == {"pencil", "cartoon"}
    baseline = written["judge"]["cartoon"]["baseline"]
    assert 0 <= baseline["style_score"] <= 1 and baseline["fid_judge_features"] >= 0

    photo = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (45, 70, 3), np.uint8)).save(photo)
    out = tmp_path / "out"
    styled = run_cli(
        "stylize",
        "--model",
        f"{run_dir}/final.keras",
        "--blend",
        "pencil=0.3,cartoon=0.7",
        "--strength",
        "0.6",
        "--out",
        str(out),
        str(photo),
        env=env,
    )
    assert styled.returncode == 0, styled.stderr
    assert Image.open(out / "photo.png").size == (70, 45)
    unknown = run_cli(
        "stylize",
        "--model",
        f"{run_dir}/final.keras",
        "--style",
        "sepia",
        "--out",
        str(tmp_path / "out_sepia"),
        str(photo),
        env=env,
    )
    assert unknown.returncode == 2 and "unknown style 'sepia'" in unknown.stderr
