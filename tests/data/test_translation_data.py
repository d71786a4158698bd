"""Data for image-to-image translation: folder layouts, TFDS, pipeline options, and
every bad input's handling."""

import logging
import os
import time

import numpy as np
import pytest
from PIL import Image

from keras_styletransfer.data import (
    PipelineOptions,
    from_paired_folder,
    from_single_folder,
    from_style_folders,
    from_tfds_cycle_gan,
    from_unpaired_folder,
)
from keras_styletransfer.errors import DataSourceError, InputError

SMALL = {"load_size": 14, "crop_size": 10}


def smooth_image(seed, height, width):
    """A smooth random RGB uint8 image (so resizing keeps it recognisable)."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (4, 4, 3)).astype(np.uint8)
    return np.asarray(Image.fromarray(coarse).resize((width, height), Image.BILINEAR))


def save(path, array, mode=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    image = Image.fromarray(array) if mode is None else Image.fromarray(array).convert(mode)
    image.save(path)


def batches(dataset):
    return list(dataset.as_numpy_iterator())


# Styles and the offline style set: tests/data/test_styles.py and test_offline_photos.py.


# ----------------------------------------------------------------------------- paired folders


def write_side_by_side(folder, count=4, height=12):
    """A|B files with B = 255 - A, so any shared geometric jitter keeps b == -a in [-1, 1]."""
    for index in range(count):
        a = smooth_image(index, height, height)
        save(os.path.join(folder, f"pair_{index}.png"), np.concatenate([a, 255 - a], axis=1))


def test_paired_jitter_applies_the_same_crop_and_flip_to_a_and_b(tmp_path):
    write_side_by_side(tmp_path / "pairs")
    dataset = from_paired_folder(tmp_path / "pairs", batch_size=2, seed=3, **SMALL)
    epochs = [batches(dataset) for _ in range(2)]
    for source, target in epochs[0] + epochs[1]:
        assert source.shape == (2, 10, 10, 3) and source.dtype == np.float32
        np.testing.assert_allclose(source, -target, atol=1e-5)
        assert source.min() >= -1 and source.max() <= 1
    # Jitter and order change every epoch, yet the whole run is reproducible from the seed.
    assert not np.array_equal(epochs[0][0][0], epochs[1][0][0])
    again = from_paired_folder(tmp_path / "pairs", batch_size=2, seed=3, **SMALL)
    np.testing.assert_array_equal(batches(again)[0][0], epochs[0][0][0])
    swapped = from_paired_folder(
        tmp_path / "pairs", batch_size=2, seed=3, direction="BtoA", **SMALL
    )
    np.testing.assert_array_equal(batches(swapped)[0][0], epochs[0][0][1])
    plain = from_paired_folder(
        tmp_path / "pairs", augment=False, shuffle=False, batch_size=4, **SMALL
    )
    source, target = batches(plain)[0]
    np.testing.assert_allclose(source, -target, atol=1e-5)


def test_two_folder_layout_matches_names_and_reports_the_rest(tmp_path, caplog):
    root = tmp_path / "paired"
    for index in range(3):
        a = smooth_image(index, 12, 16)
        save(str(root / "A" / f"img_{index}.png"), a)
        save(str(root / "B" / f"img_{index}.bmp"), 255 - a)  # matched without the extension
    save(str(root / "A" / "only_in_a.png"), smooth_image(9, 12, 16))
    save(str(root / "B" / "only_in_b.png"), smooth_image(8, 12, 16))
    (root / "B" / "notes.txt").write_text("not an image")
    with caplog.at_level(logging.WARNING):
        dataset = from_paired_folder(root, layout="two_folders", batch_size=1, seed=0, **SMALL)
    assert "1 file(s) in A have no match in B" in caplog.text
    assert "1 file(s) in B have no match in A" in caplog.text
    assert "ignored 1 non-image file(s)" in caplog.text
    pairs = batches(dataset)
    assert len(pairs) == 3
    for source, target in pairs:
        np.testing.assert_allclose(source, -target, atol=1e-5)
    lonely = tmp_path / "lonely"
    save(str(lonely / "A" / "x.png"), smooth_image(0, 12, 16))
    with pytest.raises(
        DataSourceError,
        match=r"lacks the sub-folder\(s\) B; expected the layout .*/A/ and .*/B/, holding files "
        r"with matching names. Sub-folders found: A",
    ):
        from_paired_folder(lonely, layout="two_folders")


def test_side_by_side_with_odd_width_or_wrong_aspect_is_explained(tmp_path):
    save(str(tmp_path / "odd" / "x.png"), smooth_image(0, 12, 25))
    with pytest.raises(InputError, match=r"1 side-by-side image\(s\).*odd width.*25x12"):
        from_paired_folder(tmp_path / "odd", **SMALL)
    save(str(tmp_path / "square" / "x.png"), smooth_image(0, 12, 12))
    with pytest.raises(InputError, match=r"not two square halves.*12x12.*two_folders"):
        from_paired_folder(tmp_path / "square", **SMALL)
    save(str(tmp_path / "wide" / "x.png"), smooth_image(0, 12, 36))  # halves 18x12: allowed
    dataset = from_paired_folder(tmp_path / "wide", check_aspect=False, **SMALL)
    assert batches(dataset)[0][0].shape == (1, 10, 10, 3)


def test_corrupt_files_are_skipped_with_a_count_and_none_left_is_an_error(tmp_path, caplog):
    folder = tmp_path / "pairs"
    write_side_by_side(folder, count=2)
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    whole = (folder / "pair_0.png").read_bytes()
    (folder / "truncated.png").write_bytes(whole[: len(whole) // 2])
    with caplog.at_level(logging.WARNING):
        dataset = from_paired_folder(folder, shuffle=False, **SMALL)
    assert "skipped 2 unreadable file(s) of 4" in caplog.text
    assert len(batches(dataset)) == 2
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.jpg").write_bytes(b"garbage")
    (bad / "b.png").write_bytes(b"")
    with pytest.raises(DataSourceError, match=r"none of the 2 image files.*could be read"):
        from_paired_folder(bad, **SMALL)
    (tmp_path / "text_only").mkdir()
    (tmp_path / "text_only" / "readme.txt").write_text("hi")
    with pytest.raises(DataSourceError, match=r"no image files.*1 other file\(s\) ignored"):
        from_single_folder(tmp_path / "text_only")


def test_images_smaller_than_the_crop_are_resized_up_with_a_count_or_refused(tmp_path, caplog):
    folder = tmp_path / "small"
    write_side_by_side(folder, count=2, height=6)  # halves of 6x6 < crop 10
    with caplog.at_level(logging.WARNING):
        dataset = from_paired_folder(folder, **SMALL)
    assert "2 image(s) in" in caplog.text and "smaller than crop_size=10" in caplog.text
    source, target = batches(dataset)[0]
    assert source.shape == (1, 10, 10, 3)
    np.testing.assert_allclose(source, -target, atol=1e-5)
    with pytest.raises(InputError, match=r"2 image\(s\).*smaller than crop_size=10.*allow_upscale"):
        from_paired_folder(folder, allow_upscale=False, **SMALL)


def test_gray_rgba_palette_and_16_bit_images_become_rgb_8_bit(tmp_path):
    import cv2

    folder = tmp_path / "modes"
    Image.new("L", (5, 4), 100).save(folder.mkdir() or folder / "a_gray.png")
    Image.new("RGBA", (5, 4), (10, 20, 30, 40)).save(folder / "b_rgba.png")
    Image.new("LA", (5, 4), (60, 7)).save(folder / "c_gray_alpha.png")
    Image.fromarray(np.full((4, 5), 200 * 256 + 255, np.uint16)).save(folder / "d_gray16.png")
    rgb16 = np.zeros((4, 5, 3), np.uint16) + np.array([250, 120, 3], np.uint16) * 256
    cv2.imwrite(str(folder / "e_rgb16.png"), rgb16[..., ::-1])  # OpenCV writes BGR
    palette = Image.new("P", (5, 4), 0)
    palette.putpalette([1, 2, 3] + [0] * 765)
    palette.save(folder / "f_palette.png")
    paths, dataset = from_single_folder(folder)
    assert [os.path.basename(p) for p in paths] == sorted(os.listdir(folder))
    # Alpha is composited on white, as `stylize` and `serve_bytes` do (one decoder).
    expected = [(100,) * 3, (217, 218, 220), (250,) * 3, (200,) * 3, (250, 120, 3), (1, 2, 3)]
    for image, rgb in zip(batches(dataset), expected, strict=True):
        assert image.shape == (4, 5, 3) and image.dtype == np.float32
        np.testing.assert_allclose(image[0, 0], np.array(rgb) / 127.5 - 1, atol=1e-6)


def test_single_folder_keeps_native_sizes_and_ignores_other_files(tmp_path, caplog):
    folder = tmp_path / "photos"
    save(str(folder / "wide.png"), smooth_image(0, 9, 17))
    save(str(folder / "tall.jpg"), smooth_image(1, 13, 7))
    save(str(folder / "nested" / "deep.png"), smooth_image(2, 5, 5))
    (folder / "notes.md").write_text("# not an image")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n")
    with caplog.at_level(logging.WARNING):
        paths, dataset = from_single_folder(folder)
    assert "ignored 1 non-image file(s)" in caplog.text
    assert "skipped 1 unreadable file(s) of 3" in caplog.text
    assert [os.path.basename(p) for p in paths] == ["tall.jpg", "wide.png"]
    assert [image.shape for image in batches(dataset)] == [(13, 7, 3), (9, 17, 3)]
    assert len(from_single_folder(folder, recursive=True)[0]) == 3


# ----------------------------------------------------------------------------- unpaired, styles


def write_domain(folder, colour, count, size=(12, 16)):
    for index in range(count):
        image = np.zeros((*size, 3), np.uint8) + np.array(colour, np.uint8)
        save(os.path.join(folder, f"{index}.png"), image)


def test_unpaired_folder_zips_two_independent_streams(tmp_path):
    root = tmp_path / "horse2zebra"
    write_domain(root / "trainA", (255, 0, 0), 3)
    write_domain(root / "trainB", (0, 0, 255), 5)
    write_domain(root / "testA", (255, 0, 0), 2)
    write_domain(root / "testB", (0, 0, 255), 2)
    dataset = from_unpaired_folder(root, seed=1, **SMALL)
    pairs = batches(dataset)
    assert len(pairs) == 5  # one epoch: max(len A, len B), as the CycleGAN reference
    for a, b in pairs:
        assert a.shape == b.shape == (1, 10, 10, 3)
        np.testing.assert_allclose(a[0, 0, 0], [1, -1, -1], atol=1e-6)
        np.testing.assert_allclose(b[0, 0, 0], [-1, -1, 1], atol=1e-6)
    test_pairs = batches(from_unpaired_folder(root, split="test", batch_size=2, **SMALL))
    assert len(test_pairs) == 1 and test_pairs[0][0].shape == (2, 10, 10, 3)


def test_unpaired_pairing_is_random_but_reproducible(tmp_path):
    root = tmp_path / "data"
    for index in range(4):
        save(str(root / "trainA" / f"{index}.png"), smooth_image(index, 10, 10))
        save(str(root / "trainB" / f"{index}.png"), smooth_image(10 + index, 10, 10))
    options = {"load_size": 10, "crop_size": 10, "batch_size": 4}
    first = from_unpaired_folder(root, seed=7, **options)
    epoch_1, epoch_2 = (batches(first)[0] for _ in range(2))
    assert not np.array_equal(epoch_1[1], epoch_2[1])
    np.testing.assert_array_equal(
        batches(from_unpaired_folder(root, seed=7, **options))[0][1], epoch_1[1]
    )


def test_folder_without_the_unpaired_layout_names_what_is_missing(tmp_path):
    root = tmp_path / "dataset"
    write_domain(root / "trainA", (1, 2, 3), 1)
    write_domain(root / "photos", (1, 2, 3), 1)
    with pytest.raises(
        DataSourceError,
        match=r"lacks the sub-folder\(s\) trainB; expected the layout root/trainA, root/trainB, "
        r"root/testA, root/testB.*found: photos, trainA",
    ):
        from_unpaired_folder(root)
    with pytest.raises(DataSourceError, match=r"lacks the sub-folder\(s\) testA, testB"):
        from_unpaired_folder(root, split="test")
    with pytest.raises(DataSourceError, match="does not exist"):
        from_unpaired_folder(tmp_path / "nowhere")


def test_style_folders_give_images_with_style_indices(tmp_path, caplog):
    root = tmp_path / "styles"
    write_domain(root / "pencil", (200, 200, 200), 2)
    write_domain(root / "cartoon", (0, 255, 0), 3)
    (root / "README.txt").write_text("loose file")
    with caplog.at_level(logging.WARNING):
        dataset, names = from_style_folders(root, batch_size=1, seed=0, **SMALL)
    assert names == ["cartoon", "pencil"]
    assert "ignored 1 file(s) directly in" in caplog.text
    seen = set()
    for _ in range(3):
        for image, index in batches(dataset):
            assert image.shape == (1, 10, 10, 3) and index.dtype == np.int32
            colour = (0, 255, 0) if index[0] == 0 else (200, 200, 200)
            np.testing.assert_allclose(image[0, 0, 0], np.array(colour) / 127.5 - 1, atol=1e-6)
            seen.add(int(index[0]))
    assert seen == {0, 1}
    plain, _ = from_style_folders(root, balance=False, shuffle=False, batch_size=5, **SMALL)
    assert batches(plain)[0][1].tolist() == [0, 0, 0, 1, 1]
    (root / "empty_style").mkdir()
    with pytest.raises(
        DataSourceError, match=r"no image files \(.*\) found in the style folder '.*empty_style'"
    ):
        from_style_folders(root, **SMALL)
    with pytest.raises(
        DataSourceError, match=r"has no sub-folders; expected the layout root/<style"
    ):
        from_style_folders(root / "pencil", **SMALL)


def test_pipeline_options_object_and_keywords_give_the_same_batches(tmp_path):
    root = tmp_path / "data"
    for index in range(4):
        save(str(root / "trainA" / f"{index}.png"), smooth_image(index, 10, 10))
        save(str(root / "trainB" / f"{index}.png"), smooth_image(10 + index, 10, 10))
    options = PipelineOptions(load_size=10, crop_size=10, batch_size=4, seed=7)
    by_keywords = from_unpaired_folder(root, seed=7, load_size=10, crop_size=10, batch_size=4)
    by_object = from_unpaired_folder(root, options=options)
    np.testing.assert_array_equal(batches(by_object)[0][1], batches(by_keywords)[0][1])
    # A keyword overrides the field of `options`; the object itself is unchanged (frozen).
    overridden = from_unpaired_folder(root, options=options, batch_size=2)
    assert batches(overridden)[0][0].shape == (2, 10, 10, 3) and options.batch_size == 4
    assert options.for_training(False).augment is False
    assert PipelineOptions(augment=False).for_training().augment is False
    with pytest.raises(TypeError, match="crop"):
        from_unpaired_folder(root, crop=10)
    with pytest.raises(InputError, match="options must be a PipelineOptions"):
        from_unpaired_folder(root, options={"crop_size": 10})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"load_size": 8, "crop_size": 10}, r"load_size \(8\) must be at least crop_size \(10\)"),
        ({"layout": "stacked"}, "layout must be one of 'side_by_side', 'two_folders'"),
        ({"direction": "A2B"}, "direction must be one of 'AtoB', 'BtoA'"),
        ({"resize": "fit"}, "resize must be one of 'stretch', 'short_side'"),
        ({"batch_size": 0}, "batch size must be a positive integer"),
    ],
)
def test_bad_pipeline_options_are_explained(tmp_path, kwargs, message):
    with pytest.raises(InputError, match=message):
        from_paired_folder(tmp_path, **kwargs)


def test_short_side_resize_keeps_the_aspect(tmp_path):
    folder = tmp_path / "pairs"
    a = smooth_image(0, 10, 20)
    save(str(folder / "x.png"), np.concatenate([a, 255 - a], axis=1))
    dataset = from_paired_folder(folder, resize="short_side", check_aspect=False, seed=0, **SMALL)
    source, target = batches(dataset)[0]
    assert source.shape == (1, 10, 10, 3)
    np.testing.assert_allclose(source, -target, atol=1e-5)


# ----------------------------------------------------------------------------- TFDS


def test_tfds_cycle_gan_without_local_data_fails_fast_with_instructions(tmp_path):
    started = time.time()
    with pytest.raises(
        DataSourceError, match=r"'cycle_gan/horse2zebra' is not prepared.*never downloads.*data_dir"
    ):
        from_tfds_cycle_gan("horse2zebra", data_dir=str(tmp_path))
    assert time.time() - started < 10  # a real tfds.load would wait minutes for the network


def test_a_locally_prepared_cycle_gan_style_builder_loads(tmp_path):
    import tensorflow_datasets as tfds

    colours = {"trainA": (255, 0, 0), "trainB": (0, 0, 255), "testA": (9, 9, 9), "testB": (1, 1, 1)}

    class TinyCycleGanForTest(tfds.core.GeneratorBasedBuilder):
        """The cycle_gan features and splits, 3 images per split, prepared from memory."""

        VERSION = tfds.core.Version("1.0.0")

        def _info(self):
            return tfds.core.DatasetInfo(
                builder=self,
                features=tfds.features.FeaturesDict(
                    {
                        "image": tfds.features.Image(shape=(None, None, 3)),
                        "label": tfds.features.ClassLabel(names=["A", "B"]),
                    }
                ),
            )

        def _split_generators(self, dl_manager):
            return {split: self._generate_examples(split) for split in colours}

        def _generate_examples(self, split):
            for index in range(3):
                image = np.zeros((12, 16, 3), np.uint8) + np.array(colours[split], np.uint8)
                yield index, {"image": image, "label": split[-1]}

    TinyCycleGanForTest(data_dir=str(tmp_path)).download_and_prepare()
    dataset = from_tfds_cycle_gan(
        "tiny_cycle_gan_for_test", data_dir=str(tmp_path), seed=0, batch_size=3, **SMALL
    )
    ((a, b),) = batches(dataset)
    assert a.shape == b.shape == (3, 10, 10, 3)
    np.testing.assert_allclose(a[:, 0, 0], [[1, -1, -1]] * 3, atol=1e-6)
    np.testing.assert_allclose(b[:, 0, 0], [[-1, -1, 1]] * 3, atol=1e-6)
    with pytest.raises(DataSourceError, match=r"has no split\(s\) valA, valB"):
        from_tfds_cycle_gan("tiny_cycle_gan_for_test", data_dir=str(tmp_path), split="val")


def test_offline_runs_train_on_their_familys_split():
    """An unpaired run on the offline photos sees the same subjects on both sides (the
    "halves" split); a paired run keeps the "photos" split its published figures used."""
    from keras_styletransfer.config import TranslationConfig
    from keras_styletransfer.data.offline_photos import PHOTO_ROLES
    from keras_styletransfer.training.translation import TranslationRecipe

    for family, split in (("cut", "halves"), ("pix2pix", "photos")):
        recipe = TranslationRecipe(TranslationConfig(family, styles=("oil",), image_size=32))
        batch = next(iter(recipe.dataset()))
        assert recipe.data.split == split and len(batch) == 2
        style_sources = recipe.data.sources_of("train_style")
        if split == "halves":
            assert style_sources == recipe.data.sources_of("train_content")
            assert style_sources == sorted(PHOTO_ROLES["train"])
        else:
            assert style_sources == sorted(PHOTO_ROLES["style"])
