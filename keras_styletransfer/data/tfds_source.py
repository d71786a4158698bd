"""TensorFlow Datasets by name, for users who have them prepared locally.

`tfds.load("mnist")` on a machine without network waits minutes before failing, so the local
data directory is checked first and a missing dataset is reported at once, with what to do.
"""

from __future__ import annotations

import os

import tensorflow as tf

from keras_styletransfer.data.pipeline import check_batch_size, finish_pipeline, scale_to_unit_range
from keras_styletransfer.errors import DataSourceError, InputError


def default_tfds_dir():
    """TFDS's data directory: `$TFDS_DATA_DIR`, else `~/tensorflow_datasets`."""
    return os.environ.get("TFDS_DATA_DIR") or os.path.join(
        os.path.expanduser("~"), "tensorflow_datasets"
    )


def prepared_builder(name, data_dir=None):
    """Return the TFDS builder for `name` if its files are prepared under `data_dir`.

    Args:
        name: str. A TFDS name, optionally with config and version ("cycle_gan/horse2zebra").
        data_dir: str. Defaults to `default_tfds_dir()`.

    Returns:
        A `tfds.core.DatasetBuilder` whose data is on disk.
    """
    import tensorflow_datasets as tfds

    data_dir = data_dir or default_tfds_dir()
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError as error:
        raise DataSourceError(
            f"TFDS has no dataset named {name!r}; check the name (see `tfds.list_builders()`)."
        ) from error
    info_file = os.path.join(builder.data_dir, "dataset_info.json")
    if not tf.io.gfile.exists(info_file):
        raise DataSourceError(
            f"TFDS dataset {name!r} is not prepared in {data_dir!r} and this package never "
            "downloads at run time. On a machine with network run "
            f"`python -c \"import tensorflow_datasets as tfds; tfds.load('{name}')\"`, copy its "
            f"data folder here, and pass data_dir (--tfds-data-dir) or set TFDS_DATA_DIR."
        )
    return builder


def from_tfds(
    name,
    image_shape,
    batch_size,
    split="train",
    data_dir=None,
    image_key="image",
    shuffle=True,
    seed=None,
    repeat=False,
    drop_remainder=True,
):
    """Build a `tf.data.Dataset` of image batches in [-1, 1] from a locally prepared TFDS dataset.

    Args:
        name: str. TFDS name, e.g. "mnist".
        image_shape: tuple (H, W, C). Images are resized to (H, W); channels must match.
        batch_size: int.
        split: str. Defaults to "train".
        data_dir: str. Defaults to `$TFDS_DATA_DIR` or `~/tensorflow_datasets`.
        image_key: str. Feature holding the image. Defaults to "image".
        shuffle, seed, repeat, drop_remainder: as in `from_arrays`.

    Returns:
        A `tf.data.Dataset` of float32 batches.
    """
    import tensorflow_datasets as tfds

    batch_size = check_batch_size(batch_size)
    builder = prepared_builder(name, data_dir)
    features = builder.info.features
    if image_key not in features:
        raise InputError(
            f"TFDS dataset {name!r} has no feature {image_key!r}; its features are "
            f"{', '.join(features.keys())}."
        )
    stored_shape = features[image_key].shape
    height, width, channels = (int(v) for v in image_shape)
    if stored_shape[-1] is not None and stored_shape[-1] != channels:
        raise InputError(
            f"TFDS dataset {name!r} stores {stored_shape[-1]}-channel images but the model takes "
            f"{channels}; choose a preset for such images."
        )
    dataset = tfds.load(name, split=split, data_dir=data_dir or default_tfds_dir(), download=False)

    def to_image(example):
        image = tf.image.resize(example[image_key], (height, width), method="area")
        return scale_to_unit_range(image / 255.0)

    dataset = dataset.map(to_image, num_parallel_calls=tf.data.AUTOTUNE)
    return finish_pipeline(dataset, batch_size, shuffle, seed, repeat, 10_000, drop_remainder)
