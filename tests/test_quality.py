"""The README's digit-quality claim, measured the way the README measures it."""

import pytest

from keras_styletransfer.config import TrainConfig
from keras_styletransfer.training import train


@pytest.mark.slow
def test_doc002_preset_trains_to_recognisable_digits_of_most_classes(tmp_path):
    # `keras-styletransfer train --preset doc002_mnist --epochs 5 --quality`, about 2-3 minutes.
    result = train(
        TrainConfig(preset="doc002_mnist", epochs=5, measure_quality=True),
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
