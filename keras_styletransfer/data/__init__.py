"""Data sources: NumPy arrays, image folders, TFDS names and the offline sets, as tf.data."""

from keras_styletransfer.data.folders import (
    FolderScan,
    from_image_folder,
    list_image_files,
    scan_folder,
    scan_images,
)
from keras_styletransfer.data.jitter import decode_rgb
from keras_styletransfer.data.offline import load_offline_digits, load_offline_photo_crops
from keras_styletransfer.data.offline_photos import (
    MANIFEST,
    OfflineStyleSet,
    default_cache_dir,
    load_offline_style_set,
    write_manifest,
)
from keras_styletransfer.data.options import PipelineOptions
from keras_styletransfer.data.pipeline import (
    check_batch_size,
    check_image_array,
    from_arrays,
    load_arrays,
    scale_to_unit_range,
)
from keras_styletransfer.data.style_folders import from_single_folder, from_style_folders
from keras_styletransfer.data.styles import (
    STYLES,
    apply_style,
    cartoon,
    detail,
    pencil_sketch,
    watercolour,
)
from keras_styletransfer.data.tfds_source import from_tfds, prepared_builder
from keras_styletransfer.data.translation import (
    from_paired_folder,
    from_tfds_cycle_gan,
    from_unpaired_folder,
)

__all__ = [
    "MANIFEST",
    "STYLES",
    "FolderScan",
    "OfflineStyleSet",
    "PipelineOptions",
    "apply_style",
    "cartoon",
    "check_batch_size",
    "check_image_array",
    "decode_rgb",
    "default_cache_dir",
    "detail",
    "from_arrays",
    "from_image_folder",
    "from_paired_folder",
    "from_single_folder",
    "from_style_folders",
    "from_tfds",
    "from_tfds_cycle_gan",
    "from_unpaired_folder",
    "list_image_files",
    "load_arrays",
    "load_offline_digits",
    "load_offline_photo_crops",
    "load_offline_style_set",
    "pencil_sketch",
    "prepared_builder",
    "scale_to_unit_range",
    "scan_folder",
    "scan_images",
    "watercolour",
    "write_manifest",
]
