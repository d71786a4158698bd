"""The README's digit-quality claim, measured the way the README measures it."""

import pytest

from keras_styletransfer.config import TrainConfig
from keras_styletransfer.training.noise import train


@pytest.mark.slow
def test_mnist_dcgan_preset_trains_to_recognisable_digits_of_most_classes(tmp_path):
    # `keras-styletransfer train --preset mnist_dcgan --epochs 5 --quality`, about 2-3 minutes.
    result = train(
        TrainConfig(preset="mnist_dcgan", epochs=5, measure_quality=True),
        str(tmp_path / "run"),
        verbose=0,
    )
    generated = result.quality["generated"]
    real = result.quality["real_test_digits"]
    assert real["recognisable_fraction"] > 0.85  # the classifier itself is trustworthy
    # README: 32.8% of samples recognisable, 9 of 10 classes covered (seed 0).
    assert generated["recognisable_fraction"] >= 0.25, generated
    assert generated["classes_covered"] >= 8, generated
    assert max(generated["class_counts"]) < 0.5 * sum(generated["class_counts"])  # no collapse


@pytest.mark.slow
def test_pix2pix_watercolour_beats_the_unchanged_photo_on_held_out_photos(tmp_path, monkeypatch):
    # The README's 1,000-step pix2pix row, about a minute: the model must already beat the
    # baseline of returning the photo, on photos it never saw.
    from keras_styletransfer.config import TranslationConfig
    from keras_styletransfer.training.translation import train_translation

    monkeypatch.setenv("KERAS_STYLETRANSFER_CACHE", str(tmp_path / "cache"))
    config = TranslationConfig(family="pix2pix", styles=("watercolour",), epochs=10)
    result = train_translation(config, str(tmp_path / "run"), verbose=0)
    for part in ("photos", "crops"):
        measured = result.metrics["styles"]["watercolour"][part]
        # README (seed 0): SSIM gap closed 0.26 / 0.23, PSNR +4.2 / +3.6 dB.
        assert measured["ssim_gap_closed"] > 0.15, measured
        assert measured["psnr"] > measured["baseline_psnr"] + 2.0, measured
