"""The README's quality claims, measured the way the README measures them.

Both runs use `--deterministic` (TensorFlow's op determinism), in a fresh process because it
cannot be switched off again: the figures are then the same on every run on this machine kind,
and CI cannot fail by chance.
"""

import json
import os
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_mnist_dcgan_preset_trains_to_recognisable_digits_of_most_classes(tmp_path):
    # `keras-styletransfer train --preset mnist_dcgan --epochs 5 --quality --deterministic`,
    # about 2-3 minutes.
    run_dir = tmp_path / "run"
    command = [
        sys.executable,
        "-c",
        "import sys, keras_styletransfer_cli as cli; sys.exit(cli.main(sys.argv[1:]))",
        *("train", "--preset", "mnist_dcgan", "--epochs", "5", "--quality", "--deterministic"),
        *("--run-dir", str(run_dir)),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=1500)
    assert result.returncode == 0, result.stderr[-3000:]
    quality = json.loads((run_dir / "quality.json").read_text())
    generated = quality["generated"]
    real = quality["real_test_digits"]
    assert real["recognisable_fraction"] > 0.85  # the classifier itself is trustworthy
    # README: 32.8% of samples recognisable, 9 of 10 classes covered (seed 0).
    assert generated["recognisable_fraction"] >= 0.25, generated
    assert generated["classes_covered"] >= 8, generated
    assert max(generated["class_counts"]) < 0.5 * sum(generated["class_counts"])  # no collapse


# Run in a fresh process with TensorFlow's op determinism on (it cannot be switched off again in
# this process): without it two runs of the same seed differ (measured here, seed 0: held-out
# photos PSNR +1.1 to +2.6 dB over the unchanged photo, crops +2.1 dB; seeds 1-3: +2.3 to
# +5.1 dB). With it, two runs are identical, so the figures below are the same on every run on
# this machine kind (seed 0: photos SSIM gap closed 0.220, PSNR +1.84 dB; crops 0.179, +1.55 dB).
# A broken trainer returns noise or the photo: gap <= 0, PSNR at or below the baseline.
_PIX2PIX_RUN = """
import json, sys
import tensorflow as tf
tf.config.experimental.enable_op_determinism()
from keras_styletransfer.config import TranslationConfig
from keras_styletransfer.training.translation import train_translation
config = TranslationConfig(family="pix2pix", styles=("watercolour",), epochs=10, seed=0)
result = train_translation(config, sys.argv[1], verbose=0)
print(json.dumps(result.metrics["styles"]["watercolour"]))
"""


@pytest.mark.slow
def test_pix2pix_watercolour_beats_the_unchanged_photo_on_held_out_photos(tmp_path):
    # The README's 1,000-step pix2pix row, about two minutes: the model must already beat the
    # baseline of returning the photo, on photos it never saw.
    env = {**os.environ, "KERAS_STYLETRANSFER_CACHE": str(tmp_path / "cache")}
    result = subprocess.run(
        [sys.executable, "-c", _PIX2PIX_RUN, str(tmp_path / "run")],
        capture_output=True,
        text=True,
        env=env,
        timeout=1200,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads(result.stdout.strip().splitlines()[-1])
    for part in ("photos", "crops"):
        measured = metrics[part]
        assert measured["ssim_gap_closed"] > 0.15, measured
        assert measured["psnr"] > measured["baseline_psnr"] + 1.0, measured
