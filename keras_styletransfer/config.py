"""Frozen descriptions of a run and their validation. No TensorFlow import here: the CLI builds,
checks, prints and saves one at once, then hands it to `training.train`."""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np

from keras_styletransfer.errors import DataSourceError, InputError
from keras_styletransfer.models.presets import get_preset


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything that defines one training run.

    Args:
        preset: str. Name from `keras_styletransfer.models.presets.PRESETS`.
        epochs: int. Defaults to 5.
        batch_size: int. Defaults to 0, meaning the preset's.
        steps_per_epoch: int. Defaults to 0, meaning the preset's (0 there: one pass).
        data: str. "offline" (the preset's embedded data), a folder, a .npy / .npz file, or
            "tfds:NAME". Defaults to "offline".
        tfds_data_dir: str. Where prepared TFDS data lives. Defaults to "" (TFDS's default).
        seed: int. Seeds weights, noise and shuffling. Defaults to 0.
        samples_every: int. Write a sample grid every this many epochs. Defaults to 1.
        convert_channels: bool. Convert folder images to the model's channel count.
            Defaults to False.
        measure_quality: bool. After training, score samples with the digit classifier
            (digit presets only). Defaults to False.
        strategy: str. Distribution strategy: "auto", "default", "mirrored" or "multi_worker"
            (see `keras_styletransfer.distribute.get_strategy`); `batch_size` is the global
            batch over all replicas. Defaults to "auto".
        mixed_precision: str. "none", "mixed_float16" or "mixed_bfloat16". Defaults to "none".
    """

    preset: str
    epochs: int = 5
    batch_size: int = 0
    steps_per_epoch: int = 0
    data: str = "offline"
    tfds_data_dir: str = ""
    seed: int = 0
    samples_every: int = 1
    convert_channels: bool = False
    measure_quality: bool = False
    strategy: str = "auto"
    mixed_precision: str = "none"

    def to_json(self):
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    def save(self, run_dir):
        """Write `run_dir/config.json` and return its path."""
        os.makedirs(run_dir, exist_ok=True)
        path = os.path.join(run_dir, "config.json")
        with open(path, "w") as file:
            file.write(self.to_json() + "\n")
        return path

    @classmethod
    def load(cls, path):
        with open(path) as file:
            return cls(**json.load(file))


def validate_config(config):
    """Check a config before anything heavy runs; raise `InputError` with what to change."""
    try:
        preset = get_preset(config.preset)
    except ValueError as error:
        raise InputError(str(error)) from None
    for field in ("epochs", "samples_every"):
        value = getattr(config, field)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(
                f"{field.replace('_', ' ')} must be a positive integer; got {value!r}."
            )
    validate_distribution(config)
    for field in ("batch_size", "steps_per_epoch"):
        value = getattr(config, field)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InputError(
                f"{field.replace('_', ' ')} must be a positive integer (or 0 for the preset's "
                f"default); got {value!r}."
            )
    source = config.data
    if source != "offline" and not source.startswith("tfds:"):
        if not os.path.exists(source):
            raise DataSourceError(
                f"data {source!r} not found; pass an existing folder of images, a .npy/.npz "
                "file, 'tfds:NAME', or 'offline' for the preset's embedded data."
            )
        if os.path.isfile(source) and not source.endswith((".npy", ".npz")):
            raise InputError(
                f"data file {source!r} is not a .npy or .npz array; pass a folder of images "
                "instead, or save your images with numpy.save."
            )
        if os.path.isfile(source):
            shape = load_arrays(source, mmap_mode="r").shape
            expected = tuple(preset.image_shape)
            if shape[1:] != expected and not (
                len(shape) == 3 and expected[-1] == 1 and shape[1:] == expected[:2]
            ):
                raise InputError(
                    f"preset {preset.name!r} takes images of shape {expected} (H, W, C) but "
                    f"{source!r} holds {shape[1:]}; resize your images or choose another preset."
                )
    return preset


# Distribution strategies and precision policies by name (`keras_styletransfer.distribute`).
STRATEGY_NAMES = ("auto", "default", "mirrored", "multi_worker")
PRECISION_POLICIES = ("none", "mixed_float16", "mixed_bfloat16")


def validate_distribution(config):
    """Check a config's `strategy` and `mixed_precision` names (no TensorFlow import)."""
    strategy = getattr(config, "strategy", "auto")
    if strategy not in STRATEGY_NAMES:
        raise InputError(
            f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGY_NAMES)}."
        )
    policy = getattr(config, "mixed_precision", "none")
    if policy not in PRECISION_POLICIES:
        raise InputError(
            f"unknown mixed precision policy {policy!r}; choose one of "
            f"{', '.join(PRECISION_POLICIES)}."
        )


# Fields that may change when an interrupted run is started again; any other change would load
# the backup into a different model or data stream. The strategy may change: the global batch,
# and so every update, stays the same on any number of replicas.
RESUMABLE_CHANGES = ("epochs", "samples_every", "measure_quality", "strategy")


def check_run_dir(config, run_dir, overwrite=False):
    """Refuse a run directory whose contents this run would spoil; return "new", "resume" or
    "overwrite".

    A folder with backups (an interrupted run) is resumed, but only with the same configuration;
    a folder with a finished run (`final.keras`) is trained again only when `overwrite` is set.
    """
    backup_dir = os.path.join(run_dir, "backup")
    has_backup = os.path.isdir(backup_dir) and any(
        name.startswith("epoch_") and name.endswith(".weights.h5")
        for name in os.listdir(backup_dir)
    )
    stored_path = os.path.join(run_dir, "config.json")
    if has_backup and os.path.isfile(stored_path):
        try:
            stored = type(config).load(stored_path)
        except (OSError, ValueError, TypeError) as error:
            raise InputError(
                f"{stored_path} cannot be read ({error}); the run in {run_dir!r} cannot be "
                "resumed safely. Choose another --run-dir."
            ) from None
        changed = [
            f"{field.name} {getattr(stored, field.name)!r} -> {getattr(config, field.name)!r}"
            for field in dataclasses.fields(config)
            if field.name not in RESUMABLE_CHANGES
            and getattr(stored, field.name) != getattr(config, field.name)
        ]
        if changed:
            raise InputError(
                f"{run_dir!r} holds an interrupted run with other settings ({', '.join(changed)}); "
                "resume it with the same options, or choose another --run-dir."
            )
        return "resume"
    if os.path.isfile(os.path.join(run_dir, "final.keras")):
        if not overwrite:
            raise InputError(
                f"{run_dir!r} already holds a finished run (final.keras); choose another "
                "--run-dir, or pass --overwrite to train it again from the start."
            )
        return "overwrite"
    return "new"


def load_arrays(path, mmap_mode=None):
    """Images from a .npy file, or from the array named 'images' (else the only one) in a .npz."""
    try:
        loaded = np.load(path, allow_pickle=False, mmap_mode=mmap_mode)
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read {path!r} as a NumPy file: {error}") from None
    if isinstance(loaded, np.ndarray):
        return loaded
    with loaded:
        names = list(loaded.keys())
        if "images" in names:
            return loaded["images"]
        if len(names) == 1:
            return loaded[names[0]]
    raise InputError(
        f"{path!r} holds arrays {names}; name the images array 'images' "
        "(np.savez(path, images=...))."
    )


TRANSLATION_FAMILIES = ("pix2pix", "cyclegan", "multistyle")


@dataclasses.dataclass(frozen=True)
class TranslationConfig:
    """Everything that defines one image-to-image training run on the offline photo set.

    Args:
        family: str. "pix2pix" (paired), "cyclegan" (unpaired) or "multistyle" (unpaired, one
            generator for every style). Defaults to "pix2pix".
        styles: tuple of str. One style for pix2pix and CycleGAN; one or more for multistyle.
            Defaults to ("pencil",).
        image_size: int. Training crop side. Defaults to 64.
        epochs: int. Defaults to 10.
        steps_per_epoch: int. Defaults to 100.
        batch_size: int. Defaults to 4.
        filters: int. Width of the first layer of G and D. Defaults to 32.
        learning_rate: float. Adam's, with beta_1 = 0.5. Defaults to 2e-4.
        seed: int. Defaults to 0.
        data: str. "offline" (the embedded photos with exact stylisations, evaluated on
            held-out photos), a folder in the family's layout (pix2pix: side-by-side A|B files
            or `A/` + `B/` sub-folders; CycleGAN: `trainA/ trainB/ [testA/ testB/]`;
            multistyle: one sub-folder per style plus `photo/` for the content photos), or
            "tfds:cycle_gan/<config>" (CycleGAN, prepared locally). With a folder, `styles`
            names the style (pix2pix, CycleGAN) or must match the style sub-folders
            (multistyle). Defaults to "offline".
        tfds_data_dir: str. Where prepared TFDS data lives ("" = TFDS's default).
        strategy: str. "auto", "default", "mirrored" or "multi_worker"; `batch_size` is the
            global batch over all replicas. Defaults to "auto".
        mixed_precision: str. "none", "mixed_float16" or "mixed_bfloat16". Defaults to "none".
    """

    family: str = "pix2pix"
    styles: tuple = ("pencil",)
    image_size: int = 64
    epochs: int = 10
    steps_per_epoch: int = 100
    batch_size: int = 4
    filters: int = 32
    learning_rate: float = 2e-4
    seed: int = 0
    data: str = "offline"
    tfds_data_dir: str = ""
    strategy: str = "auto"
    mixed_precision: str = "none"

    def to_json(self):
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    def save(self, run_dir):
        os.makedirs(run_dir, exist_ok=True)
        path = os.path.join(run_dir, "config.json")
        with open(path, "w") as file:
            file.write(self.to_json() + "\n")
        return path

    @classmethod
    def load(cls, path):
        with open(path) as file:
            values = json.load(file)
        values["styles"] = tuple(values.get("styles", ()))
        return cls(**values)


def _validate_translation_data(config):
    """Where the training data of a folder / TFDS run comes from, checked before training."""
    data = config.data
    if data.startswith("tfds:"):
        if config.family != "cyclegan":
            raise InputError(
                f"TFDS data ({data!r}) is the unpaired cycle_gan collection: use --family "
                "cyclegan, or a folder for pix2pix / multistyle."
            )
        return
    if not os.path.isdir(data):
        raise InputError(
            f"--data {data!r} is neither 'offline', 'tfds:cycle_gan/<config>' nor an existing "
            "folder."
        )


def validate_translation_config(config):
    """Check a TranslationConfig before TensorFlow loads; raise `InputError` saying what to do."""
    from keras_styletransfer.data.styles import STYLES

    if config.family not in TRANSLATION_FAMILIES:
        raise InputError(
            f"unknown family {config.family!r}; choose one of {', '.join(TRANSLATION_FAMILIES)}."
        )
    styles = tuple(config.styles)
    if config.data != "offline":
        _validate_translation_data(config)
        unknown = [s for s in styles if not s or not s.replace("_", "").replace("-", "").isalnum()]
    else:
        unknown = [s for s in styles if s not in STYLES]
    if not styles or unknown:
        raise InputError(
            f"unknown or missing style(s) {unknown or styles!r}; choose from {', '.join(STYLES)}."
        )
    if config.family != "multistyle" and len(styles) != 1:
        raise InputError(
            f"{config.family} learns one style per model; received {len(styles)} "
            f"({', '.join(styles)}). Train one model per style, or use --family multistyle."
        )
    validate_distribution(config)
    for field in ("epochs", "steps_per_epoch", "batch_size", "filters"):
        value = getattr(config, field)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(
                f"{field.replace('_', ' ')} must be a positive integer; got {value!r}."
            )
    if not isinstance(config.image_size, int) or config.image_size < 32 or config.image_size % 32:
        raise InputError(
            f"image size must be a multiple of 32 (the generators' stride), at least 32; got "
            f"{config.image_size!r}."
        )
    if not config.learning_rate > 0:
        raise InputError(f"learning rate must be > 0; got {config.learning_rate!r}.")
    return config
