"""Checks of a run's config and folder before anything heavy runs (no TensorFlow import).

The CLI calls these on its arguments before it imports TensorFlow, so a bad option is reported
at once; the runs call them again (a Python caller may skip the CLI).
"""

from __future__ import annotations

import dataclasses
import os
import shutil

from keras_styletransfer.config import (
    OFFLINE_SPLITS,
    RESUMABLE_CHANGES,
    TRANSLATION_FAMILIES,
    UNPAIRED_FAMILIES,
)
from keras_styletransfer.distribute import check_distribution
from keras_styletransfer.errors import DataSourceError, InputError
from keras_styletransfer.files import LOCK_NAME, check_writable, is_inside


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


# Largest values a run takes: beyond them an option is a typo (1e20 epochs), not a plan.
MAX_EPOCHS = 100_000
MAX_STEPS_PER_EPOCH = 10_000_000
MAX_BATCH_SIZE = 65_536
# Bytes one pixel of one example holds while a step runs (the networks' activations kept for
# the gradients, both networks, float32): a deliberately low estimate, so that only batches
# that cannot fit are refused.
STEP_BYTES_PER_PIXEL = 1024


def check_run_sizes(config, image_shape):
    """Refuse epochs, steps and batch sizes out of range, and a batch whose step cannot fit in
    this machine's memory (it would abort with `std::bad_alloc` after loading everything)."""
    from keras_styletransfer.validation import check_fits_in_memory

    for field, high in (
        ("epochs", MAX_EPOCHS),
        ("steps_per_epoch", MAX_STEPS_PER_EPOCH),
        ("batch_size", MAX_BATCH_SIZE),
    ):
        value = getattr(config, field)
        if isinstance(value, int) and value > high:
            raise InputError(
                f"{field.replace('_', ' ')} {value} is more than this package takes (at most "
                f"{high}); pass a smaller --{field.replace('_', '-')}."
            )
    batch = getattr(config, "batch_size", 0)
    if batch:
        pixels = 1
        for side in image_shape[:2]:
            pixels *= int(side)
        check_fits_in_memory(
            STEP_BYTES_PER_PIXEL * pixels * batch,
            f"a training step on a batch of {batch} images of {image_shape[0]}x{image_shape[1]}",
            "use a smaller --batch-size",
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
    check_run_sizes(config, tuple(preset.image_shape))
    return preset


def _validate_translation_data(config):
    """Where the training data of a folder / TFDS run comes from, checked before training."""
    data = config.data
    if data.startswith("tfds:"):
        if config.family not in UNPAIRED_FAMILIES:
            raise InputError(
                f"TFDS data ({data!r}) is the unpaired cycle_gan collection: use --family "
                "cyclegan, cut or fastcut, or a folder for pix2pix / multistyle."
            )
        return
    if not os.path.isdir(data):
        raise InputError(
            f"--data {data!r} is neither 'offline', 'tfds:cycle_gan/<config>' nor an existing "
            "folder."
        )


# Families whose one model learns one or more styles.
MULTI_STYLE_FAMILIES = ("multistyle", "multistyle_paired")
# `data` of a restoration run: the offline photos degraded per task (`data.restoration`).
RESTORATION_DATA = "restoration"


def validate_translation_config(config):
    """Check a `TranslationConfig`; return it, or raise `InputError` saying what to do."""
    if config.family not in TRANSLATION_FAMILIES:
        raise InputError(
            f"unknown family {config.family!r}; choose one of {', '.join(TRANSLATION_FAMILIES)}."
        )
    from keras_styletransfer.data.styles import STYLES  # imports TensorFlow (data/__init__)

    styles = tuple(config.styles)
    if config.data == RESTORATION_DATA:  # the styles are restoration tasks
        from keras_styletransfer.data.restoration import TASKS

        if config.family != "multistyle_paired":
            raise InputError(
                f"restoration data trains the multistyle_paired family (one generator, the "
                f"task as its condition); received --family {config.family}."
            )
        unknown = [s for s in styles if s not in TASKS]
        if not styles or unknown:
            raise InputError(
                f"unknown or missing restoration task(s) {unknown or styles!r}; choose from "
                f"{', '.join(TASKS)}."
            )
    elif config.data != "offline":
        _validate_translation_data(config)
        unknown = [s for s in styles if not s or not s.replace("_", "").replace("-", "").isalnum()]
    else:
        unknown = [s for s in styles if s not in STYLES]
    if not styles or unknown:
        raise InputError(
            f"unknown or missing style(s) {unknown or styles!r}; choose from {', '.join(STYLES)}."
        )
    if config.family not in MULTI_STYLE_FAMILIES and len(styles) != 1:
        raise InputError(
            f"{config.family} learns one style per model; received {len(styles)} "
            f"({', '.join(styles)}). Train one model per style, or use --family "
            f"{' or '.join(MULTI_STYLE_FAMILIES)}."
        )
    if len(set(styles)) != len(styles):
        raise InputError(f"styles must not repeat; received {', '.join(styles)}.")
    validate_distribution(config)
    _check_counts(config, ("epochs", "steps_per_epoch", "batch_size", "filters"), 1)
    if not isinstance(config.image_size, int) or config.image_size < 32 or config.image_size % 32:
        raise InputError(
            f"image size must be a multiple of 32 (the generators' stride), at least 32; got "
            f"{config.image_size!r}."
        )
    if not config.learning_rate > 0:
        raise InputError(f"learning rate must be > 0; got {config.learning_rate!r}.")
    if config.offline_split not in OFFLINE_SPLITS:
        raise InputError(
            f"offline split must be one of {', '.join(OFFLINE_SPLITS)}; got "
            f"{config.offline_split!r}."
        )
    average = config.generator_average
    if isinstance(average, bool) or not isinstance(average, (int, float)) or not 0 <= average < 1:
        raise InputError(
            f"generator average must be a momentum in [0, 1), e.g. 0.999 (0 turns it off); got "
            f"{average!r}."
        )
    if config.preset:
        from keras_styletransfer.models.presets import TRANSLATION_PRESETS, get_translation_preset

        family = get_translation_preset(config.preset).family  # unknown names: InputError
        if family != config.family:
            names = sorted(n for n, p in TRANSLATION_PRESETS.items() if p.family == config.family)
            raise InputError(
                f"preset {config.preset!r} builds a {family} model, not {config.family}; "
                f"--family {config.family} takes: {', '.join(names)}."
            )
    check_run_sizes(config, (config.image_size, config.image_size))
    return config


def _stored_differences(config, stored_path, run_dir):
    """The fields in which the config saved at `stored_path` differs from `config` (those an
    interrupted run may not change), or raise when it cannot be read."""
    try:
        stored = type(config).load(stored_path)
    except (OSError, ValueError, TypeError) as error:
        raise InputError(
            f"{stored_path} cannot be read as this kind of run's config ({error}); {run_dir!r} "
            "holds another run. Choose another --run-dir, or pass --overwrite to replace it."
        ) from None
    return [
        f"{field.name} {getattr(stored, field.name)!r} -> {getattr(config, field.name)!r}"
        for field in dataclasses.fields(config)
        if field.name not in RESUMABLE_CHANGES
        and getattr(stored, field.name) != getattr(config, field.name)
    ]


def is_finished_run_of(config, run_dir):
    """Whether `run_dir` holds a finished run of `config` (its config.json differs at most in
    the fields an interrupted run may change): a command that owns that folder, such as `demo`,
    may train it again."""
    stored_path = os.path.join(run_dir, "config.json")
    if not (os.path.isfile(stored_path) and os.path.isfile(os.path.join(run_dir, "final.keras"))):
        return False
    try:
        return not _stored_differences(config, stored_path, run_dir)
    except InputError:
        return False


def check_run_dir(config, run_dir, overwrite=False, inputs=()):
    """Refuse a run directory whose contents this run would spoil; return "new", "resume" or
    "overwrite".

    A folder with backups (an interrupted run) is resumed, but only with the same configuration;
    with `overwrite` it is discarded instead (`discard_run`). A folder with a finished run
    (`final.keras`), another run's config, or other models is written only with `overwrite`. A
    folder holding one of the run's `inputs` (the model a fine-tuning starts from) is refused even
    with `overwrite`; so are a file, and a location that cannot be written.

    Args:
        config: RunConfig, or None when not known yet (the stored config is then not compared).
        run_dir: str. The run folder (need not exist).
        overwrite: bool. Defaults to False.
        inputs: paths the run reads. Defaults to ().
    """
    run_dir = os.fspath(run_dir)
    if os.path.exists(run_dir) and not os.path.isdir(run_dir):
        raise InputError(f"--run-dir {run_dir!r} is a file; name a folder for the run.")
    for source in inputs:
        if source is not None and os.path.exists(source) and is_inside(source, run_dir):
            raise InputError(
                f"{run_dir!r} holds this run's input {os.fspath(source)!r}; write the run to "
                "another folder (--overwrite cannot replace an input)."
            )
    check_writable(run_dir, "--run-dir")
    if not os.path.isdir(run_dir):
        return "new"
    backup_dir = os.path.join(run_dir, "backup")
    has_backup = os.path.isdir(backup_dir) and any(
        name.startswith("epoch_") and name.endswith(".weights.h5")
        for name in os.listdir(backup_dir)
    )
    if overwrite:
        names = set(os.listdir(run_dir)) - {LOCK_NAME}
        return "overwrite" if names else "new"
    stored_path = os.path.join(run_dir, "config.json")
    if has_backup and os.path.isfile(stored_path) and config is not None:
        changed = _stored_differences(config, stored_path, run_dir)
        if changed:
            raise InputError(
                f"{run_dir!r} holds an interrupted run with other settings ({', '.join(changed)}); "
                "resume it with the same options, pass --overwrite to discard it and start "
                "again, or choose another --run-dir."
            )
        return "resume"
    if os.path.isfile(os.path.join(run_dir, "final.keras")):
        raise InputError(
            f"{run_dir!r} already holds a finished run (final.keras); choose another "
            "--run-dir, or pass --overwrite to train it again from the start."
        )
    if has_backup:
        return "resume"
    if os.path.isfile(stored_path) and config is not None:
        changed = _stored_differences(config, stored_path, run_dir)
        if changed:
            raise InputError(
                f"{run_dir!r} holds another run ({', '.join(changed)}); choose another "
                "--run-dir, or pass --overwrite to replace it."
            )
        return "new"
    models = sorted(
        name
        for name in os.listdir(run_dir)
        if name.endswith(".keras") or name in ("exported", "checkpoints")
    )
    if models and not os.path.isfile(stored_path):
        raise InputError(
            f"{run_dir!r} holds models that are not this run's ({', '.join(models[:3])}); "
            "choose another --run-dir, or pass --overwrite to replace them."
        )
    return "new"


# What an earlier run left that a new one started with --overwrite must not mix with its own;
# final.keras, generator.keras and exported/ stay until the new run replaces them.
DISCARDED_ON_OVERWRITE = ("backup", "checkpoints", "logs", "samples", "history.json")


def discard_run(run_dir):
    """Remove an earlier run's backups, checkpoints, logs and history from `run_dir`, so that a
    run started with `overwrite` begins from scratch."""
    for name in DISCARDED_ON_OVERWRITE:
        path = os.path.join(run_dir, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        elif os.path.lexists(path):
            os.remove(path)


def estimated_run_bytes(model):
    """About how many bytes a run of `model` writes: its variables and optimizer slots in
    final.keras, the checkpoint and the backups, plus the generator, the export and the logs."""
    variables = list(model.weights)
    for optimizer in (
        getattr(model, "generator_optimizer", None),
        getattr(model, "discriminator_optimizer", None),
    ):
        variables += list(getattr(optimizer, "variables", []) or [])
    size = sum(_nbytes(v) for v in variables)
    return 6 * size + 20_000_000


def _nbytes(variable):
    count = 1
    for dimension in variable.shape:
        count *= int(dimension or 1)
    return 4 * count
