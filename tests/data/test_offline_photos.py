"""The offline photos: manifest and licences, the role split, multi-scale crops, the exact targets,
held-out photos at other sizes, and the caches."""

import importlib.util
import json
import os
import time

import numpy as np
import pytest

from keras_styletransfer.data import styles
from keras_styletransfer.data.offline_photos import (
    CROP_SCALES,
    MANIFEST,
    PHOTO_NAMES,
    PHOTO_ROLES,
    crop_levels,
    held_out_photos,
    held_out_targets,
    load_offline_style_set,
    load_photo,
    write_manifest,
)
from keras_styletransfer.data.styles import apply_style
from keras_styletransfer.errors import InputError

PARAMETERS = {"size": 16, "crops_per_photo": 3, "test_crops_per_photo": 2, "seed": 5}


def is_window(crop, level):
    """Whether `crop` is a window of `level`: the best match (float, so inexact), then an
    exact comparison."""
    import cv2

    size = crop.shape[0]
    scores = cv2.matchTemplate(level, crop, cv2.TM_SQDIFF)
    left, top = cv2.minMaxLoc(scores)[2]
    return np.array_equal(level[top : top + size, left : left + size], crop)


@pytest.fixture(scope="module")
def style_set_and_cache(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    started = time.perf_counter()
    data = load_offline_style_set(cache_dir=str(cache), **PARAMETERS)
    return data, cache, time.perf_counter() - started


# ----------------------------------------------------------------------------- photos and roles


def test_roles_split_the_photos_as_documented():
    assert PHOTO_ROLES["content"] == ("astronaut", "coffee", "china")
    assert PHOTO_ROLES["style"] == ("rocket", "hubble_deep_field", "immunohistochemistry")
    assert PHOTO_ROLES["test"] == ("chelsea", "grace_hopper", "flower", "retina")
    assert PHOTO_ROLES["train"] == PHOTO_ROLES["content"] + PHOTO_ROLES["style"]
    content, style, test = (set(PHOTO_ROLES[role]) for role in ("content", "style", "test"))
    assert not content & style and not test & (content | style)
    assert content | style | test == set(PHOTO_NAMES)
    assert "motorcycle_left" not in PHOTO_NAMES  # no licence stated for it
    # Retina is the one held-out photo with a long side of 1024 or more.
    large = [name for name in PHOTO_NAMES if max(load_photo(name).shape[:2]) >= 1024]
    assert [name for name in large if name in test] == ["retina"]


def test_manifest_lists_every_photo_with_its_licence_and_the_real_file(tmp_path):
    path = write_manifest(str(tmp_path / "manifest.json"))
    with open(path, encoding="utf-8") as file:
        assert json.load(file) == MANIFEST
    assert [entry["name"] for entry in MANIFEST] == list(PHOTO_NAMES)
    for entry in MANIFEST:
        for key in ("package", "loader", "file", "description", "licence", "url"):
            assert entry[key], (entry["name"], key)
        photo = load_photo(entry["name"])
        assert photo.dtype == np.uint8 and photo.ndim == 3 and photo.shape[2] == 3
        assert photo.std(axis=(0, 1)).min() > 5, entry["name"]  # colour photos, not blank
        # The package's own text states the licence: the loader's docstring or a README.
        if entry["licence_source"]:
            package, _, relative = entry["licence_source"].partition("/")
            folder = next(iter(importlib.util.find_spec(package).submodule_search_locations))
            with open(os.path.join(folder, *relative.split("/")), encoding="utf-8") as file:
                text = file.read()
            mention = os.path.basename(entry["file"]) if package == "sklearn" else entry["name"]
            assert mention in text, (entry["name"], entry["licence_source"])
    by_name = {entry["name"]: entry for entry in MANIFEST}
    assert (
        "CC BY 2.0" in by_name["china"]["licence"]
        and "danielbuechele" in by_name["china"]["licence"]
    )
    # The loaders the manifest names give the same pixels.
    from skimage import data as skimage_data
    from sklearn.datasets import load_sample_image

    np.testing.assert_array_equal(load_photo("astronaut"), skimage_data.astronaut())
    np.testing.assert_array_equal(load_photo("china"), load_sample_image("china.jpg"))


# ----------------------------------------------------------------------------- the style set


def test_offline_style_set_shapes_and_exact_targets(style_set_and_cache):
    data, _, _ = style_set_and_cache
    assert data.styles == ("pencil", "watercolour", "cartoon")
    assert data.train_content.shape == (9, 16, 16, 3) and data.train_content.dtype == np.uint8
    assert data.train_style_photos.shape == (9, 16, 16, 3)
    assert data.test_content.shape == (4, 16, 16, 3) and data.test_crops.shape == (8, 16, 16, 3)
    for name in data.styles:
        for inputs, targets in (
            (data.train_content, data.train_paired[name]),
            (data.train_style_photos, data.train_style[name]),
            (data.test_content, data.test_targets[name]),
            (data.test_crops, data.test_crop_targets[name]),
        ):
            assert targets.shape == inputs.shape
            # Crop, then stylise: every target is the exact style of the model's input.
            for index in (0, len(inputs) - 1):
                np.testing.assert_array_equal(targets[index], apply_style(name, inputs[index]))
    assert data.train_content.reshape(9, -1).std(axis=1).min() > 1  # real crops, not blank
    images, indices = data.style_images_and_indices()
    assert images.shape == (27, 16, 16, 3) and indices.tolist() == [0] * 9 + [1] * 9 + [2] * 9
    assert not data.train_content.flags.writeable


def test_paired_examples_use_both_training_sides_with_exact_targets(style_set_and_cache):
    data, _, _ = style_set_and_cache
    photos, targets = data.paired_examples("watercolor")  # aliases accepted
    assert photos.shape == targets.shape == (18, 16, 16, 3)
    np.testing.assert_array_equal(photos[:9], data.train_content)
    np.testing.assert_array_equal(photos[9:], data.train_style_photos)
    for index in (0, 9, 17):
        np.testing.assert_array_equal(targets[index], apply_style("watercolour", photos[index]))
    with pytest.raises(InputError, match=r"no style 'ink'.*pencil, watercolour, cartoon"):
        data.paired_examples("ink")


def test_unpaired_sides_and_held_out_photos_stay_apart(style_set_and_cache):
    data, _, _ = style_set_and_cache
    assert data.sources_of("train_content") == sorted(PHOTO_ROLES["content"])
    assert data.sources_of("train_style") == sorted(PHOTO_ROLES["style"])
    assert data.sources_of("test") == sorted(PHOTO_ROLES["test"])
    assert data.sources_of("test_crops") == sorted(PHOTO_ROLES["test"])
    assert data.test_sources.tolist() == [PHOTO_NAMES.index(n) for n in PHOTO_ROLES["test"]]
    # Held-out photos never appear among the training crops, even by pixels.
    training = {
        crop.tobytes() for crop in np.concatenate([data.train_content, data.train_style_photos])
    }
    assert not any(image.tobytes() in training for image in data.test_content)
    assert not any(image.tobytes() in training for image in data.test_crops)


def test_crops_are_cut_from_their_own_photo_at_the_scales_of_use():

    size = 32
    data = load_offline_style_set(
        size=size, styles="oil", crops_per_photo=6, test_crops_per_photo=4, seed=1, cache_dir=False
    )
    levels = {name: crop_levels(load_photo(name), size) for name in PHOTO_NAMES}

    factors = set()
    for crops, sources in (
        (data.train_content, data.train_content_sources),
        (data.train_style_photos, data.train_style_sources),
        (data.test_crops, data.test_crop_sources),
    ):
        for crop, source in zip(crops, sources, strict=True):
            found = [
                factor for factor, level in levels[PHOTO_NAMES[source]] if is_window(crop, level)
            ]
            assert found, f"a crop of {PHOTO_NAMES[source]} is not a window of that photo"
            factors.update(found)
    assert len(factors) >= 4  # many scales, from close-ups of native pixels to quarter views
    # The scales are relative to the native photo, clamped to keep a short side of `size`.
    coffee = dict(crop_levels(load_photo("coffee"), 128))  # 600x400 photo
    assert [round(f, 3) for f in coffee] == [0.32, 0.35, 0.5, 0.71, 1.0]
    assert coffee[1.0].shape == (400, 600, 3) and min(coffee[0.32].shape[:2]) == 128
    assert min(dict(crop_levels(load_photo("coffee"), 64))[0.25].shape[:2]) == 100
    assert CROP_SCALES[0] == 0.25 and CROP_SCALES[-1] == 1.0


def test_halves_split_puts_every_training_photo_on_both_sides_without_sharing_a_pixel():

    from keras_styletransfer.data.offline_photos import UNPAIRED_SPLITS, _half_of

    size = 32
    data = load_offline_style_set(
        size=size,
        styles="watercolour",
        crops_per_photo=4,
        test_crops_per_photo=2,
        seed=3,
        cache_dir=False,
        split="halves",
    )
    assert data.split == "halves" and UNPAIRED_SPLITS == ("photos", "halves")
    # Both sides hold crops of all six training photos (the same subjects), as many as
    # the "photos" split gives a side; the held-out photos are untouched.
    for part in ("train_content", "train_style"):
        assert data.sources_of(part) == sorted(PHOTO_ROLES["train"])
    assert len(data.train_content) == len(data.train_style_photos) == 6 * 2
    assert data.sources_of("test") == sorted(PHOTO_ROLES["test"])
    np.testing.assert_array_equal(
        data.train_style["watercolour"],
        styles.apply_style_batch("watercolour", data.train_style_photos),
    )

    def halves_holding(crop, name):  # which halves of the photo hold the crop as a window
        return {
            half
            for half in (0, 1)
            for _, level in crop_levels(_half_of(load_photo(name), half), size)
            if is_window(crop, level)
        }

    for name in PHOTO_ROLES["train"]:
        source = PHOTO_NAMES.index(name)
        content = data.train_content[data.train_content_sources == source]
        style = data.train_style_photos[data.train_style_sources == source]
        content_halves = set().union(*(halves_holding(crop, name) for crop in content))
        style_halves = set().union(*(halves_holding(crop, name) for crop in style))
        # Each side crops one half of the photo, and never the other side's half.
        assert len(content_halves) == len(style_halves) == 1
        assert content_halves != style_halves
    with pytest.raises(InputError, match="split must be one of photos, halves"):
        load_offline_style_set(size=16, split="shuffled", cache_dir=False)


# ----------------------------------------------------------------------------- caches


def test_offline_style_set_is_cached_by_parameters(style_set_and_cache, monkeypatch):
    data, cache, cold = style_set_and_cache
    files = os.listdir(cache)
    assert len(files) == 1 and files[0].endswith(".npz")
    started = time.perf_counter()
    again = load_offline_style_set(cache_dir=str(cache), **PARAMETERS)
    assert time.perf_counter() - started < cold
    np.testing.assert_array_equal(again.train_style["cartoon"], data.train_style["cartoon"])
    one_style = load_offline_style_set(styles="pencil", cache_dir=False, **PARAMETERS)
    np.testing.assert_array_equal(one_style.train_content, data.train_content)
    assert len(os.listdir(cache)) == 1  # cache_dir=False writes nothing
    # Another seed, or a style whose parameters changed, is another file.
    load_offline_style_set(cache_dir=str(cache), **{**PARAMETERS, "seed": 6})
    assert len(os.listdir(cache)) == 2
    halves = load_offline_style_set(cache_dir=str(cache), split="halves", **PARAMETERS)
    assert halves.split == "halves" and len(os.listdir(cache)) == 3
    assert set(halves.sources_of("train_style")) > set(data.sources_of("train_style"))

    def watercolour(image, sigma_s=31.0, sigma_r=0.45):  # same name, another default
        return styles.watercolour(image, sigma_s, sigma_r)

    monkeypatch.setitem(styles.STYLES, "watercolour", watercolour)
    load_offline_style_set(cache_dir=str(cache), **PARAMETERS)
    assert len(os.listdir(cache)) == 4
    monkeypatch.undo()
    (cache / files[0]).write_bytes(b"truncated")  # a broken cache file is rebuilt, not fatal
    rebuilt = load_offline_style_set(cache_dir=str(cache), **PARAMETERS)
    np.testing.assert_array_equal(rebuilt.test_targets["pencil"], data.test_targets["pencil"])


# ------------------------------------------------------------------------- whole held-out photos


def test_held_out_photos_whole_at_native_size_or_a_long_side():
    native = held_out_photos()
    assert [name for name, _ in native] == list(PHOTO_ROLES["test"])
    for name, photo in native:
        np.testing.assert_array_equal(photo, load_photo(name))
    assert dict(native)["retina"].shape == (1411, 1411, 3)
    for long_side in (100, 512):
        for (name, photo), (_, original) in zip(held_out_photos(long_side), native, strict=True):
            height, width = original.shape[:2]
            assert max(photo.shape[:2]) == long_side and photo.dtype == np.uint8, name
            assert abs(photo.shape[0] / photo.shape[1] - height / width) < 0.02, name  # aspect
    assert held_out_photos(100)[0][1].shape == (67, 100, 3)  # chelsea, 451x300
    with pytest.raises(InputError, match="long_side"):
        held_out_photos(8)


def test_held_out_targets_are_the_whole_images_styles_and_cached(tmp_path, monkeypatch):
    targets = held_out_targets("ink", 96, cache_dir=str(tmp_path))
    photos = held_out_photos(96)
    assert len(targets) == len(photos) == 4
    for (name, photo), target in zip(photos, targets, strict=True):
        assert target.shape == photo.shape, name
        np.testing.assert_array_equal(target, apply_style("ink", photo))
    assert not targets[0].flags.writeable
    (cached,) = os.listdir(tmp_path)
    assert cached.startswith("held_out_ink_96_") and cached.endswith(".npz")

    def refuse(*args):
        raise AssertionError("the cached targets should have been read")

    monkeypatch.setattr("keras_styletransfer.data.offline_photos.apply_style", refuse)
    again = held_out_targets("ink_wash", 96, cache_dir=str(tmp_path))
    for first, second in zip(targets, again, strict=True):
        np.testing.assert_array_equal(first, second)
    with pytest.raises(AssertionError, match="cached"):  # another size is another file
        held_out_targets("ink", 97, cache_dir=str(tmp_path))
    monkeypatch.undo()
    native = held_out_targets("cartoon", cache_dir=False)
    assert native[-1].shape == (1411, 1411, 3) and len(os.listdir(tmp_path)) == 1
