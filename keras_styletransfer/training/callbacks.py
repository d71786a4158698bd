"""GAN-aware Keras callbacks: sample grids, a guard that stops on non-finite losses, atomic
backups (resumable, chief-only writing on several workers) and the latest whole model."""

from __future__ import annotations

import json
import math
import os

import keras
import numpy as np
import tensorflow as tf

from keras_styletransfer import distribute
from keras_styletransfer.files import disk_reason, replace_atomically, temporary_path
from keras_styletransfer.images import save_image_grid, tile_images, to_uint8


def weights_as_bytes(model):
    """The bytes of `model.save_weights(PATH.weights.h5)`, made in memory (loadable with
    `model.load_weights`)."""
    import io

    from keras.src.saving import saving_lib

    buffer = io.BytesIO()
    store = saving_lib.H5IOStore(buffer, mode="w")
    saving_lib._save_state(  # what `save_weights` does, with a file in memory
        model, weights_store=store, assets_store=None, inner_path="", visited_saveables=set()
    )
    store.close()
    return buffer.getvalue()


class NonFiniteLossError(RuntimeError):
    """Raised when a loss becomes NaN or infinite; the last good checkpoint is left untouched."""


class SampleGrid(keras.callbacks.Callback):
    """Write a grid of G's samples from *fixed* noise at the end of every `every`-th epoch.

    The same noise every epoch makes the grids comparable. Sampling runs G in inference mode and
    changes no weight. Files: `output_dir/epoch_001.png`, ...; with `log_dir`, the grid is also a
    TensorBoard image ("samples") under `log_dir/samples`.

    Args:
        output_dir: str. Folder for the PNG files.
        num_samples: int. Defaults to 64.
        every: int. Defaults to 1.
        seed: int. Seed of the fixed noise. Defaults to 0.
        log_dir: str. TensorBoard log folder. Defaults to None (PNG only).
    """

    def __init__(self, output_dir, num_samples=64, every=1, seed=0, log_dir=None):
        super().__init__()
        if num_samples < 1 or every < 1:
            raise ValueError(
                f"num_samples and every must be >= 1; received {num_samples} and {every}."
            )
        self.output_dir = output_dir
        self.num_samples = num_samples
        self.every = every
        self.seed = seed
        self.log_dir = log_dir
        self.noise = None
        self.written = []
        self._writer = None

    def on_train_begin(self, logs=None):
        latent_dim = self.model.latent_dim
        rng = np.random.default_rng(self.seed)
        self.noise = rng.standard_normal((self.num_samples, latent_dim)).astype(np.float32)
        if self.log_dir and self._writer is None:
            self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, "samples"))

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        images = self.model.primary_generator().predict_on_batch(self.noise)
        path = os.path.join(self.output_dir, f"epoch_{epoch + 1:03d}.png")
        save_image_grid(images, path)
        self.written.append(path)
        if self._writer is not None:
            grid = tile_images(to_uint8(images))
            with self._writer.as_default():
                tf.summary.image("samples", grid[np.newaxis], step=epoch + 1)
            self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Abort training at the first batch whose reported losses are NaN or infinite.

    Keras' `TerminateOnNaN` watches `logs["loss"]`, which a GAN does not report, and lets the
    epoch end so that checkpoints would save the broken weights. This raises at once instead, so
    `ModelCheckpoint` and `BackupAndRestore` keep the last good state.

    Args:
        monitor: tuple of str. Log keys to watch. Defaults to every key ending in "loss".
    """

    def __init__(self, monitor=None):
        super().__init__()
        self.monitor = tuple(monitor) if monitor else None
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        for key, value in (logs or {}).items():
            watched = key in self.monitor if self.monitor else key.endswith("loss")
            if watched and not math.isfinite(float(value)):
                raise NonFiniteLossError(
                    f"{key} became {float(value)} at epoch {self.epoch + 1}, batch {batch + 1}; "
                    "training stopped and the last checkpoint was kept. Lower the learning rate, "
                    "or check the data for NaN."
                )


class ResumableBackup(keras.callbacks.Callback):
    """Back up the whole training state every epoch so that a killed run resumes exactly.

    Keras' `BackupAndRestore` overwrites one weights file in place and writes the epoch number to a
    second file afterwards: a run killed while it writes leaves an unreadable HDF5 file (and a run
    killed between the two writes resumes at the wrong epoch). This callback writes each backup to a
    temporary file, flushes it to disk and renames it into place, so a backup file is either whole
    or absent. The epoch is part of the file's name (`epoch_0003.weights.h5`), so weights and epoch
    can never disagree. The newest `keep` backups are kept; at the start of `fit` (or earlier,
    with `restore`) the newest one that loads is restored (weights, both optimizers, every random
    state of `random_states()`, image pools included) and `fit` continues at the following epoch.
    The logs of every finished epoch are kept beside them (`history.json`, written before the
    weights), so `history` after a restore holds the epochs before the interruption too.

    Args:
        backup_dir: str. Folder of the backups.
        keep: int. How many backups to keep. Defaults to 2.
        delete_on_success: bool. Remove the folder when `fit` finishes normally. Defaults to True.
    """

    PREFIX = "epoch_"
    SUFFIX = ".weights.h5"

    def __init__(self, backup_dir, keep=2, delete_on_success=True):
        super().__init__()
        if not backup_dir:
            raise ValueError("backup_dir must be a folder path; received an empty value.")
        if int(keep) < 1:
            raise ValueError(f"keep must be >= 1; received {keep}.")
        self.backup_dir = str(backup_dir)
        self.keep = int(keep)
        self.delete_on_success = delete_on_success
        self.restored_epoch = 0
        self.skipped = []
        self.history = {}
        self._restored = False

    HISTORY = "history.json"

    def backups(self):
        """The complete backups as (epoch, path), newest first."""
        if not os.path.isdir(self.backup_dir):
            return []
        found = []
        for name in os.listdir(self.backup_dir):
            stem = name[len(self.PREFIX) : -len(self.SUFFIX)]
            if name.startswith(self.PREFIX) and name.endswith(self.SUFFIX) and stem.isdigit():
                found.append((int(stem), os.path.join(self.backup_dir, name)))
        return sorted(found, reverse=True)

    def restore(self, model=None, clean=True):
        """Load the newest backup that reads into the model (weights, both optimizers, the random
        states) and its history; return the epoch it was taken after (0: none).

        `run` calls this before `fit`, so that the data can start where the backup left off;
        `on_train_begin` then does nothing more. Used as a plain callback, it restores there.

        Args:
            model: keras.Model. Defaults to None (the callback's model).
            clean: bool. Remove temporary files a killed run left. Defaults to True.
        """
        if model is not None:
            self.set_model(model)
        self.restored_epoch = 0
        self.skipped = []
        self.history = {}
        self._restored = True
        if clean:
            for name in os.listdir(self.backup_dir) if os.path.isdir(self.backup_dir) else []:
                if name.startswith(".tmp-"):  # left by a run killed while writing
                    os.remove(os.path.join(self.backup_dir, name))
        candidates = self.backups()
        for epoch, path in candidates:
            try:
                self.model.load_weights(path)
            except Exception as error:  # an unreadable file: fall back to the one before
                self.skipped.append((path, f"{type(error).__name__}: {error}"))
                continue
            self.restored_epoch = epoch
            self.model._initial_epoch = epoch
            self.history = self._stored_history(epoch)
            return epoch
        if candidates and clean:
            details = "; ".join(f"{path} ({reason})" for path, reason in self.skipped)
            raise OSError(
                f"none of the backups in {self.backup_dir} can be read: {details}. Move the "
                "folder away to start this run from the beginning."
            )
        return 0

    def _stored_history(self, epoch):
        """The logs of epochs 1..`epoch` saved beside the backups (older backups have none)."""
        try:
            with open(os.path.join(self.backup_dir, self.HISTORY)) as file:
                stored = json.load(file)
        except (OSError, ValueError):
            return {}
        # Written before the weights: a run killed in between left one epoch too many.
        return {key: list(values)[:epoch] for key, values in stored.items()}

    def on_train_begin(self, logs=None):
        if getattr(self, "_restored", False):
            self._restored = False  # restored before `fit`; a later `fit` restores again
            self.model._initial_epoch = self.restored_epoch
            return
        self.restore()
        self._restored = False

    def on_epoch_end(self, epoch, logs=None):
        os.makedirs(self.backup_dir, exist_ok=True)
        final_path = os.path.join(self.backup_dir, f"{self.PREFIX}{epoch + 1:04d}{self.SUFFIX}")
        temporary = os.path.join(self.backup_dir, f".tmp-{os.getpid()}{self.SUFFIX}")

        def write(path):
            # Serialised in memory, then written by Python: HDF5 writing to a full disk leaves
            # its library in a state that segfaults when the process exits.
            data = weights_as_bytes(self.model)
            with open(path, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())

        def failure(error):
            return (
                f"could not write the backup of epoch {epoch + 1} to "
                f"{self.backup_dir} ({disk_reason(error)}); the earlier backups are intact. "
                "Free some disk space and run again to resume."
            )

        # The history first: a restore keeps only the epochs its weights file has seen.
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))

        def write_history(path):
            with open(path, "w") as file:
                json.dump(self.history, file)
                file.flush()
                os.fsync(file.fileno())

        replace_atomically(
            write_history,
            os.path.join(self.backup_dir, f".tmp-{os.getpid()}-{self.HISTORY}"),
            os.path.join(self.backup_dir, self.HISTORY),
            failure,
        )
        replace_atomically(write, temporary, final_path, failure)
        for _, path in self.backups()[self.keep :]:
            os.remove(path)

    def on_train_end(self, logs=None):
        if self.delete_on_success and os.path.isdir(self.backup_dir):
            for _, path in self.backups():
                os.remove(path)
            history = os.path.join(self.backup_dir, self.HISTORY)
            if os.path.exists(history):
                os.remove(history)
            if not os.listdir(self.backup_dir):
                os.rmdir(self.backup_dir)


class ChiefBackup(ResumableBackup):
    """`ResumableBackup` for several workers: all restore from the shared folder, the chief writes.

    Every worker loads the newest backup from `backup_dir` at the start of `fit` (on several
    machines the folder must be on a shared file system, or copied to each machine, as for Keras'
    `BackupAndRestore`), so all resume in step. At each epoch's end every worker saves (saving
    reads values reduced over workers), but non-chiefs save to a private temporary folder that is
    deleted at once; only the chief's file lands in `backup_dir`, and only the chief deletes the
    folder when `fit` succeeds. With one worker it behaves exactly as `ResumableBackup`.

    Args:
        backup_dir: str. Shared folder of the backups.
        strategy: tf.distribute.Strategy. Defaults to None (read `TF_CONFIG`).
        **kwargs: passed to `ResumableBackup` (`keep`, `delete_on_success`).
    """

    def __init__(self, backup_dir, strategy=None, **kwargs):
        super().__init__(backup_dir, **kwargs)
        self.strategy = strategy
        self.shared_dir = self.backup_dir
        self.chief = distribute.is_chief(strategy)

    def on_train_begin(self, logs=None):
        if self.chief or getattr(self, "_restored", False):
            return super().on_train_begin(logs)
        # A non-chief must not delete the chief's leftover temporary files: it only restores.
        self.restore(clean=False)
        self._restored = False
        return None

    def restore(self, model=None, clean=None):
        return super().restore(model, clean=self.chief if clean is None else clean)

    def on_epoch_end(self, epoch, logs=None):
        if self.chief:
            return super().on_epoch_end(epoch, logs)
        private = distribute.worker_path(self.shared_dir, self.strategy)
        self.backup_dir = private
        try:
            super().on_epoch_end(epoch, logs)
        finally:
            self.backup_dir = self.shared_dir
            distribute.remove_worker_files(self.shared_dir, self.strategy)
        return None

    def on_train_end(self, logs=None):
        if self.chief:
            super().on_train_end(logs)


class LatestModel(keras.callbacks.Callback):
    """Save the whole model (`.keras`, optimizers included) after every epoch, atomically.

    Unlike `ModelCheckpoint(path)`, which rewrites the file in place, a run killed while this
    writes keeps the previous epoch's file whole: the new one is written beside it and renamed
    over it.

    Args:
        filepath: str. A `.keras` path.
    """

    def __init__(self, filepath):
        super().__init__()
        if not str(filepath).endswith(".keras"):
            raise ValueError(f"filepath must end in .keras; received {filepath!r}.")
        self.filepath = str(filepath)

    def on_epoch_end(self, epoch, logs=None):
        folder = os.path.dirname(os.path.abspath(self.filepath))
        os.makedirs(folder, exist_ok=True)
        replace_atomically(
            lambda path: self.model.save(path, overwrite=True),
            temporary_path(self.filepath),
            self.filepath,
            lambda error: (
                f"could not write {self.filepath} after epoch {epoch + 1} ({disk_reason(error)}); "
                "the previous file is intact. Free some disk space and run again to resume."
            ),
        )
