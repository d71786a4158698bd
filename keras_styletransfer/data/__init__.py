"""Data sources: NumPy arrays, image folders, TFDS names and the offline sets, as tf.data.

Names load on first use (`keras_styletransfer.lazy`), so importing the package to check a style
name does not import TensorFlow.
"""

from keras_styletransfer.lazy import lazy_namespace

_EXPORTS = {
    "ink_wash": ".styles",
    "oil_painting": ".styles",
    "locality": ".styles",
    "held_out_photos": ".offline_photos",
    "held_out_targets": ".offline_photos",
    "crop_levels": ".offline_photos",
    "PHOTO_ROLES": ".offline_photos",
    "FolderScan": ".folders",
    "MANIFEST": ".offline_photos",
    "OfflineStyleSet": ".offline_photos",
    "PipelineOptions": ".options",
    "STYLES": ".styles",
    "apply_style": ".styles",
    "cartoon": ".styles",
    "check_batch_size": ".pipeline",
    "check_image_array": ".pipeline",
    "decode_rgb": ".jitter",
    "default_cache_dir": ".offline_photos",
    "detail": ".styles",
    "from_arrays": ".pipeline",
    "from_image_folder": ".folders",
    "from_paired_folder": ".translation",
    "from_single_folder": ".style_folders",
    "from_style_folders": ".style_folders",
    "from_tfds": ".tfds_source",
    "from_tfds_cycle_gan": ".translation",
    "inspect_image": ".decoding",
    "from_unpaired_folder": ".translation",
    "list_image_files": ".folders",
    "load_arrays": ".pipeline",
    "load_offline_digits": ".offline",
    "load_offline_photo_crops": ".offline",
    "load_offline_style_set": ".offline_photos",
    "pencil_sketch": ".styles",
    "prepared_builder": ".tfds_source",
    "read_image": ".decoding",
    "scale_to_unit_range": ".pipeline",
    "scan_folder": ".folders",
    "scan_images": ".folders",
    "watercolour": ".styles",
    "write_manifest": ".offline_photos",
}

_SUBMODULES = (
    "decoding",
    "folders",
    "jitter",
    "offline",
    "offline_photos",
    "options",
    "pipeline",
    "style_folders",
    "styles",
    "tfds_source",
    "translation",
)

__getattr__, __dir__, __all__ = lazy_namespace(__name__, _EXPORTS, _SUBMODULES)
