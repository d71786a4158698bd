"""Restoration tasks: exact, deterministic degradations; classical baselines; the training set;
the held-out scoring."""

import numpy as np
import pytest

from keras_styletransfer.data.offline_photos import load_photo
from keras_styletransfer.data.restoration import (
    BASELINES,
    JPEG_QUALITY,
    TASKS,
    VARIANTS,
    baseline,
    degrade,
    gaussian_kernel,
    held_out_restoration,
    load_restoration_set,
    motion_kernel,
    quality,
    score_restoration,
    task_name,
    task_names,
)
from keras_styletransfer.errors import InputError


@pytest.fixture(scope="module")
def photo():
    """A 96x128 crop of a real photo (coffee), detailed enough for every degradation."""
    return np.ascontiguousarray(load_photo("coffee")[100:196, 200:328])


@pytest.mark.parametrize("task", TASKS)
def test_degradations_keep_the_size_and_are_deterministic_per_seed(task, photo):
    for variant in VARIANTS[task]:
        first = degrade(photo, task, seed=3, variant=variant)
        assert first.shape == photo.shape and first.dtype == np.uint8
        assert np.array_equal(first, degrade(photo, task, seed=3, variant=variant))
        assert not np.array_equal(first, photo)  # every degradation changes a real photo


def test_the_seed_draws_the_variant_and_the_noise(photo):
    drawn = {
        seed: np.array_equal(
            degrade(photo, "denoise", seed), degrade(photo, "denoise", seed, "gaussian")
        )
        for seed in range(12)
    }
    assert set(drawn.values()) == {True, False}  # both variants are drawn
    noisy = [degrade(photo, "denoise", seed, "gaussian") for seed in (0, 1)]
    assert not np.array_equal(*noisy)
    motion = [degrade(photo, "deblur", seed, "motion") for seed in (0, 1)]
    assert not np.array_equal(*motion)  # a new angle


def test_each_degradation_is_the_documented_operation(photo):
    import cv2

    gray = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)
    colour = degrade(photo, "colourise")
    assert np.array_equal(colour, np.repeat(gray[..., None], 3, axis=-1))

    flat = np.full((64, 64, 3), 128, np.uint8)
    noise = degrade(flat, "denoise", 0, "gaussian").astype(np.float64) - 128
    assert abs(noise.std() - 25.0) < 0.5 and abs(noise.mean()) < 0.5

    _, encoded = cv2.imencode(
        ".jpg", cv2.cvtColor(photo, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
    )
    jpeg = cv2.cvtColor(cv2.imdecode(encoded, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    assert np.array_equal(degrade(photo, "denoise", 0, "jpeg"), jpeg)

    for task, factor in (("sr2", 2), ("sr4", 4)):
        low = cv2.resize(photo, (128 // factor, 96 // factor), interpolation=cv2.INTER_CUBIC)
        up = cv2.resize(low, (128, 96), interpolation=cv2.INTER_CUBIC)
        assert np.array_equal(degrade(photo, task), up)
    assert np.array_equal(degrade(flat, "sr4"), flat)  # nothing to lose in a flat image

    blurred = cv2.GaussianBlur(photo, (0, 0), 2.0, borderType=cv2.BORDER_REFLECT)
    difference = np.abs(degrade(photo, "deblur", 0, "gaussian").astype(int) - blurred)
    assert difference.max() <= 1  # the same kernel; rounding only
    assert np.isclose(gaussian_kernel().sum(), 1.0, atol=1e-5)


@pytest.mark.parametrize("angle", [0.0, 30.0, 90.0, 135.0])
def test_motion_kernels_are_normalised_centred_lines(angle):
    kernel = motion_kernel(9, angle)
    assert kernel.shape == (9, 9) and np.isclose(kernel.sum(), 1.0, atol=1e-6)
    assert np.allclose(kernel, kernel[::-1, ::-1], atol=0.02)  # symmetric about the centre
    assert kernel[4, 4] == kernel.max()
    if angle == 0.0:
        assert np.count_nonzero(kernel.sum(axis=1) > 0.01) == 1  # one horizontal row


def test_task_names_accept_aliases_and_refuse_unknown_ones_in_one_line():
    assert task_name("Colorize") == "colourise"
    assert task_names("denoise, sr2") == ("denoise", "sr2")
    with pytest.raises(InputError, match="unknown restoration task 'sharpen'") as error:
        task_name("sharpen")
    assert "\n" not in str(error.value) and "colourise" in str(error.value)
    with pytest.raises(InputError, match="must not repeat"):
        task_names("sr2,sr2")
    with pytest.raises(InputError, match="variants"):
        degrade(np.zeros((16, 16, 3), np.uint8), "denoise", variant="salt")
    with pytest.raises(InputError, match="RGB uint8"):
        degrade(np.zeros((16, 16), np.uint8), "denoise")


def test_classical_baselines_restore_what_they_are_meant_to(photo):
    clean = photo
    noisy = degrade(clean, "denoise", 0, "gaussian")
    assert quality(clean, baseline("denoise", noisy))[0] > quality(clean, noisy)[0] + 2.0
    blurred = degrade(clean, "deblur", 0, "gaussian")
    for method in BASELINES["deblur"]:
        assert quality(clean, baseline("deblur", blurred, method))[1] > quality(clean, blurred)[1]
    for task in ("colourise", "sr2", "sr4"):  # the gray copy and bicubic are the input itself
        degraded = degrade(clean, task)
        assert np.array_equal(baseline(task, degraded), degraded)
    with pytest.raises(InputError, match="baselines"):
        baseline("deblur", blurred, "magic")


def test_the_training_set_pairs_each_crop_with_its_exact_degradation(tmp_path):
    kwargs = dict(size=32, crops_per_photo=2, test_crops_per_photo=2, cache_dir=str(tmp_path))
    data = load_restoration_set(tasks=("denoise", "sr2"), **kwargs)
    assert data.styles == ("denoise", "sr2")
    degraded, clean = data.paired_examples("sr2")
    assert degraded.shape == clean.shape == (12, 32, 32, 3)  # six training photos x 2 crops
    assert np.array_equal(degraded[5], degrade(clean[5], "sr2"))
    assert set(data.sources_of("train")).isdisjoint(data.sources_of("test"))
    again = load_restoration_set(tasks=("denoise", "sr2"), **kwargs)
    assert np.array_equal(again.paired_examples("denoise")[0], data.paired_examples("denoise")[0])
    with pytest.raises(InputError, match="no task"):
        data.paired_examples("deblur")


def test_scoring_compares_a_restorer_with_the_input_and_the_baselines(tmp_path):
    data = load_restoration_set(
        size=32, tasks=("sr2",), crops_per_photo=1, test_crops_per_photo=3, cache_dir=str(tmp_path)
    )
    flat = np.full((32, 32, 3), 7, np.uint8)
    crops = np.concatenate([data.test_crops, flat[None]])
    assert len(held_out_restoration("sr2", "crops", crops=crops)) == len(data.test_crops)

    def identity(images, task):
        return images

    scores = score_restoration(identity, ("sr2", "deblur"), views=("crops",), crops=crops)
    sr2 = scores["sr2"]["crops"]
    assert sr2["model"] == sr2["input"] == sr2["bicubic"]
    deblur = scores["deblur"]["crops"]
    assert deblur["count"] == 2 * len(data.test_crops)  # every crop in both variants
    assert set(deblur["by_variant"]) == {"gaussian", "motion"}
    assert deblur["unsharp mask"]["ssim"] > deblur["input"]["ssim"]
    assert np.isfinite([deblur[m]["psnr"] for m in ("input", "model", "wiener")]).all()
