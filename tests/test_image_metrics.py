"""FID / KID arithmetic, the Inception extractor's no-download rule, the style judge."""

import keras
import numpy as np
import pytest

from keras_styletransfer.errors import DataSourceError
from keras_styletransfer.metrics import (
    StyleJudge,
    frechet_distance,
    inception_feature_extractor,
    kernel_distance,
)


def test_frechet_distance_matches_the_closed_form_for_gaussians():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4000, 3))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    # Same covariance (identity), means 2 apart on one axis: distance = 4, up to sampling noise.
    b = rng.standard_normal((4000, 3)) + np.array([2.0, 0.0, 0.0])
    assert frechet_distance(a, b) == pytest.approx(4.0, abs=0.15)
    # Scaled covariance: 3 * (1 + 4 - 2 * 2) = 3 for N(0, I) vs N(0, 4I).
    c = 2.0 * rng.standard_normal((4000, 3))
    assert frechet_distance(a, c) == pytest.approx(3.0, abs=0.25)


def test_kernel_distance_is_near_zero_within_a_distribution_and_grows_with_shift():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((500, 8)), rng.standard_normal((500, 8))
    same = kernel_distance(a, b)
    shifted = kernel_distance(a, b + 1.0)
    assert abs(same) < 0.05
    assert shifted > 20 * max(abs(same), 1e-3)
    with pytest.raises(ValueError, match="one D"):
        kernel_distance(a, rng.standard_normal((5, 3)))


def test_inception_features_never_download(tmp_path):
    with pytest.raises(DataSourceError, match=r"InceptionV3 weights not found.*style_classifier"):
        inception_feature_extractor(str(tmp_path / "absent.h5"))


@pytest.mark.slow
def test_inception_features_from_a_weights_file_made_here(tmp_path):
    path = str(tmp_path / "inception_notop.weights.h5")
    keras.applications.InceptionV3(include_top=False, weights=None, pooling="avg").save_weights(
        path
    )
    extract = inception_feature_extractor(path, image_size=75)
    features = extract(np.zeros((3, 32, 32, 3), np.float32))
    assert features.shape == (3, 2048)


def test_style_judge_learns_two_synthetic_styles_and_scores_them():
    rng = np.random.default_rng(0)
    smooth = np.repeat(rng.integers(0, 256, (80, 1, 1, 3), dtype=np.uint8), 32, 1).repeat(32, 2)
    noisy = rng.integers(0, 256, (80, 32, 32, 3), dtype=np.uint8)
    judge = StyleJudge.train({"flat": smooth, "noise": noisy}, epochs=4)
    noisy_test = rng.integers(0, 256, (20, 32, 32, 3)).astype(np.float32) / 127.5 - 1.0
    assert judge.accuracy(noisy_test, "noise") > 0.9
    assert judge.style_score(noisy_test, "noise") > 0.8
    assert judge.features(noisy_test).shape == (20, 64)
