"""Checks of a run's config and folder before anything heavy runs (no TensorFlow import).

The CLI calls these on its arguments before it imports TensorFlow, so a bad option is reported
at once; the runs call them again (a Python caller may skip the CLI).
"""

from __future__ import annotations

import dataclasses
import os

from keras_styletransfer.config import RESUMABLE_CHANGES, TRANSLATION_FAMILIES
from keras_styletransfer.distribute import check_distribution
from keras_styletransfer.errors import DataSourceError, InputError


def validate_distribution(config):
    """Check a config's `strategy` and `mixed_precision` names."""
    check_distribution(
        getattr(config, "strategy", "auto"), getattr(config, "mixed_precision", "none")
    )


def _check_counts(config, fields, low, hint=""):
    for field in fields:
        value = getattr(config, field)
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise InputError(
                f"{field.replace('_', ' ')} must be a positive integer{hint}; got {value!r}."
            )


def validate_config(config):
    """Check a `TrainConfig`; return its preset, or raise `InputError` saying what to change."""
    from keras_styletransfer.models.presets import get_preset

    try:
        preset = get_preset(config.preset)
    except ValueError as error:
        raise InputError(str(error)) from None
    _check_counts(config, ("epochs", "samples_every"), 1)
    validate_distribution(config)
    _check_counts(config, ("batch_size", "steps_per_epoch"), 0, " (or 0 for the preset's default)")
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
            from keras_styletransfer.data.pipeline import load_arrays

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
    """Check a `TranslationConfig`; return it, or raise `InputError` saying what to do."""
    if config.family not in TRANSLATION_FAMILIES:
        raise InputError(
            f"unknown family {config.family!r}; choose one of {', '.join(TRANSLATION_FAMILIES)}."
        )
    from keras_styletransfer.data.styles import STYLES  # imports TensorFlow (data/__init__)

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
    _check_counts(config, ("epochs", "steps_per_epoch", "batch_size", "filters"), 1)
    if not isinstance(config.image_size, int) or config.image_size < 32 or config.image_size % 32:
        raise InputError(
            f"image size must be a multiple of 32 (the generators' stride), at least 32; got "
            f"{config.image_size!r}."
        )
    if not config.learning_rate > 0:
        raise InputError(f"learning rate must be > 0; got {config.learning_rate!r}.")
    return config


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
