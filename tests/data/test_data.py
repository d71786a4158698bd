"""Data sources: arrays, folders, TFDS names and the offline digits; and their error messages."""

import logging
import os
import time

import numpy as np
import pytest
from PIL import Image

from keras_styletransfer.data import (
    from_arrays,
    from_image_folder,
    from_tfds,
    load_offline_digits,
    load_offline_photo_crops,
    prepared_builder,
)
from keras_styletransfer.errors import DataSourceError, InputError


def test_offline_digits_are_real_balanced_and_split_without_overlap():
    train_images, train_labels = load_offline_digits("train")
    test_images, test_labels = load_offline_digits("test")
    assert train_images.shape == (4000, 28, 28, 1) and train_images.dtype == np.uint8
    assert test_images.shape == (1000, 28, 28, 1)
    assert np.bincount(train_labels).tolist() == [400] * 10
    assert np.bincount(test_labels).tolist() == [100] * 10
    # Real handwriting: mostly dark background with a bright stroke, not noise.
    assert 0.05 < (train_images > 127).mean() < 0.3
    train_keys = {image.tobytes() for image in train_images}
    assert not any(image.tobytes() in train_keys for image in test_images)


def test_offline_photo_crops_are_rgb_and_varied():
    crops = load_offline_photo_crops(size=32, crops_per_photo=8)
    assert crops.shape == (32, 32, 32, 3) and crops.dtype == np.uint8
    assert crops.reshape(32, -1).std(axis=1).mean() > 10


def test_arrays_pipeline_scales_to_minus_one_one_and_batches(digits_small):
    images = digits_small[0]
    dataset = from_arrays(images, batch_size=16, image_shape=(28, 28, 1), shuffle=False)
    batches = list(dataset.as_numpy_iterator())
    assert len(batches) == 4 and batches[0].shape == (16, 28, 28, 1)
    np.testing.assert_allclose(batches[0], images[:16] / 127.5 - 1.0, atol=1e-6)
    assert batches[0].min() == -1.0 and batches[0].max() == 1.0


def test_arrays_pipeline_shuffles_each_epoch_and_repeats(digits_small):
    dataset = from_arrays(digits_small[0], batch_size=64, seed=1)
    first, second = (next(iter(dataset)).numpy() for _ in range(2))
    assert not np.array_equal(first, second)
    repeated = from_arrays(digits_small[0], batch_size=32, repeat=True)
    assert len(list(repeated.take(5).as_numpy_iterator())) == 5


@pytest.mark.parametrize(
    ("images", "kwargs", "message"),
    [
        (np.zeros((4, 32, 32, 1), np.uint8), {"image_shape": (28, 28, 1)}, r"\(28, 28, 1\)"),
        (np.zeros((4, 28, 28, 3), np.uint8), {"image_shape": (28, 28, 1)}, "1 channel"),
        (np.zeros((4, 28), np.uint8), {}, "shape"),
        (np.full((4, 8, 8, 1), 2.0, np.float32), {}, r"\[0, 1\]"),
        (np.full((4, 8, 8, 1), np.nan, np.float32), {}, "NaN"),
        (np.zeros((2, 8, 8, 1), np.uint8), {}, "only 2 images"),
        (np.zeros((0, 8, 8, 1), np.uint8), {}, "empty"),
    ],
)
def test_bad_arrays_are_explained(images, kwargs, message):
    with pytest.raises(InputError, match=message):
        from_arrays(images, batch_size=4, **kwargs)


@pytest.mark.parametrize("batch_size", [0, -3, 2.5, "8", True])
def test_non_positive_or_non_integer_batch_size_is_refused(digits_small, batch_size):
    with pytest.raises(InputError, match="batch size must be a positive integer"):
        from_arrays(digits_small[0], batch_size=batch_size)


def write_folder(folder, digits, count=10, mode="L"):
    os.makedirs(folder, exist_ok=True)
    for index in range(count):
        image = Image.fromarray(digits[index, :, :, 0]).convert(mode)
        image.save(os.path.join(folder, f"digit_{index}.png"))


def test_folder_pipeline_reads_resizes_and_skips_bad_files_with_a_count(
    tmp_path, digits_small, caplog
):
    folder = tmp_path / "digits"
    write_folder(folder, digits_small[0])
    Image.fromarray(np.zeros((56, 56), np.uint8)).save(folder / "large.png")  # resized
    (folder / "notes.txt").write_text("not an image")  # ignored: not an image extension
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\nthis is not a png")
    truncated = (folder / "digit_0.png").read_bytes()
    (folder / "truncated.png").write_bytes(truncated[: len(truncated) // 2])
    with caplog.at_level(logging.WARNING):
        dataset = from_image_folder(folder, (28, 28, 1), batch_size=1, shuffle=False)
    assert "skipped 2 unreadable file(s) of 13" in caplog.text
    images = np.concatenate(list(dataset.as_numpy_iterator()))
    assert images.shape == (11, 28, 28, 1)
    assert images.min() >= -1.0 and images.max() <= 1.0
    expected = {
        (digits_small[0][i] / 127.5 - 1.0).astype(np.float32).round(4).tobytes() for i in range(10)
    }
    found = {image.round(4).tobytes() for image in images}
    assert expected <= found


def test_folder_with_other_channel_count_is_refused_unless_converted(tmp_path, digits_small):
    folder = tmp_path / "rgb"
    write_folder(folder, digits_small[0], count=4, mode="RGB")
    with pytest.raises(InputError, match=r"takes 1-channel images.*3 channel"):
        from_image_folder(folder, (28, 28, 1), batch_size=2)
    dataset = from_image_folder(folder, (28, 28, 1), batch_size=2, convert_channels=True)
    batch = next(iter(dataset)).numpy()
    assert batch.shape == (2, 28, 28, 1)
    gray = from_image_folder(folder, (28, 28, 3), batch_size=2, shuffle=False)
    assert next(iter(gray)).shape == (2, 28, 28, 3)


def test_grayscale_folder_converted_to_rgb_repeats_the_channel(tmp_path, digits_small):
    folder = tmp_path / "gray"
    write_folder(folder, digits_small[0], count=2)
    dataset = from_image_folder(
        folder, (28, 28, 3), batch_size=2, shuffle=False, convert_channels=True
    )
    batch = next(iter(dataset)).numpy()
    np.testing.assert_array_equal(batch[..., 0], batch[..., 2])


@pytest.mark.parametrize(
    ("setup", "message"),
    [("missing", "does not exist"), ("empty", "no image files"), ("only_bad", "could be read")],
)
def test_unusable_folders_are_explained(tmp_path, setup, message):
    folder = tmp_path / "data"
    if setup != "missing":
        folder.mkdir()
    if setup == "only_bad":
        (folder / "a.jpg").write_bytes(b"garbage")
    with pytest.raises(DataSourceError, match=message):
        from_image_folder(folder, (28, 28, 1), batch_size=1)


def test_unprepared_tfds_name_fails_at_once_with_instructions(tmp_path):
    started = time.time()
    with pytest.raises(DataSourceError, match=r"not prepared.*never downloads"):
        prepared_builder("mnist", data_dir=str(tmp_path))
    assert time.time() - started < 30  # tfds.load would wait minutes for the network
    with pytest.raises(DataSourceError, match="no dataset named"):
        prepared_builder("no_such_dataset_xyz", data_dir=str(tmp_path))


def test_a_locally_prepared_tfds_dataset_loads_by_name(tmp_path, digits_small):
    import tensorflow_datasets as tfds

    images, labels = digits_small

    class TinyDigitsForTest(tfds.core.GeneratorBasedBuilder):
        """20 real digits, prepared from memory: the real TFDS loading path, no download."""

        VERSION = tfds.core.Version("1.0.0")

        def _info(self):
            return tfds.core.DatasetInfo(
                builder=self,
                features=tfds.features.FeaturesDict(
                    {
                        "image": tfds.features.Image(shape=(28, 28, 1)),
                        "label": tfds.features.ClassLabel(num_classes=10),
                    }
                ),
            )

        def _split_generators(self, dl_manager):
            return {"train": self._generate_examples()}

        def _generate_examples(self):
            for index in range(20):
                yield index, {"image": images[index], "label": int(labels[index])}

    TinyDigitsForTest(data_dir=str(tmp_path)).download_and_prepare()
    dataset = from_tfds(
        "tiny_digits_for_test", (28, 28, 1), batch_size=5, data_dir=str(tmp_path), shuffle=False
    )
    batches = list(dataset.as_numpy_iterator())
    assert len(batches) == 4 and batches[0].shape == (5, 28, 28, 1)
    stored = {(images[i] / 127.5 - 1.0).astype(np.float32).round(4).tobytes() for i in range(20)}
    assert {b.round(4).tobytes() for b in np.concatenate(batches)} == stored
    with pytest.raises(InputError, match="stores 1-channel images but the model takes 3"):
        from_tfds("tiny_digits_for_test", (28, 28, 3), batch_size=5, data_dir=str(tmp_path))
