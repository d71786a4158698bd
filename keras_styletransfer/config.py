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


# Fields that may change when an interrupted run is started again; any other change would load
# the backup into a different model or data stream.
RESUMABLE_CHANGES = ("epochs", "samples_every", "measure_quality")


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
            stored = TrainConfig.load(stored_path)
        except (OSError, ValueError, TypeError) as error:
            raise InputError(
                f"{stored_path} cannot be read ({error}); the run in {run_dir!r} cannot be "
                "resumed safely. Choose another --run-dir."
            ) from None
        changed = [
            f"{field.name} {getattr(stored, field.name)!r} -> {getattr(config, field.name)!r}"
            for field in dataclasses.fields(TrainConfig)
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
