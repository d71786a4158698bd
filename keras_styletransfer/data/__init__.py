"""Data sources: NumPy arrays, image folders, TFDS names and the offline sets, as tf.data."""

from keras_styletransfer.data.folders import from_image_folder, list_image_files, scan_images
from keras_styletransfer.data.offline import load_offline_digits, load_offline_photo_crops
from keras_styletransfer.data.pipeline import (
    check_batch_size,
    check_image_array,
    from_arrays,
    scale_to_unit_range,
)
from keras_styletransfer.data.tfds_source import from_tfds, prepared_builder

__all__ = [
    "check_batch_size",
    "check_image_array",
    "from_arrays",
    "from_image_folder",
    "from_tfds",
    "list_image_files",
    "load_offline_digits",
    "load_offline_photo_crops",
    "prepared_builder",
    "scale_to_unit_range",
    "scan_images",
]
