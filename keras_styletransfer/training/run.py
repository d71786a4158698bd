"""The one run skeleton: every kind of training run (noise GAN, translation, fine-tuning) goes
through `run(recipe, run_dir)`, and so writes the same artefact layout:

    config.json                the frozen config of the run
    logs/                      TensorBoard scalars (and a recipe's images)
    checkpoints/last.keras     the whole model after the last finished epoch (optimizers included)
    backup/                    resumable per-epoch state while training runs (deleted on success)
    final.keras                the trained model, written when training ends
    generator.keras            its primary generator alone
    history.json               `initial_epoch` and the Keras history of every epoch (those
                               before an interruption too)
    exported/NAME/1/           the primary generator as a SavedModel for TF Serving, with the
                               signatures serving_default, serve_uint8, serve_bytes (and a
                               style model's, see `serving.export`)

plus what the recipe adds (sample grids, metrics.json, results.png, ...).

A recipe says what differs between kinds of run: its config, its global batch size and steps,
its dataset, how to build (and compile) its model, its own callbacks, what to do right after
`fit` and its extra outputs. The
skeleton does the rest once: the mixed precision policy (restored afterwards), the distribution
strategy and its scope, the global batch check, synchronised batch normalisation, chief-only
writing on several workers (the others write to a temporary folder that is removed), resuming an
interrupted run from its backups, the standard callbacks, `fit`, the final files and the export.

Exact resume: a run killed at any point (SIGKILL included) and started again ends with the same
weights, optimizer slots and random states, bit for bit, as a run never interrupted. The backup
holds the model's side (weights, optimizers and so the learning-rate schedule's step, the
`random_states()`: noise, dropout and image-pool streams, and the pools' images); the data side
holds because every recipe's dataset is a deterministic stream of the seed (seeded shuffles,
stateless per-example augmentation seeds), of which the resumed run skips the batches the
finished epochs used (`initial_epoch * steps_per_epoch`; the skipped batches are recomputed, so
resuming late in a long run on decoded folders takes a while). A finite one-pass dataset of known
length is repeated with that length as `steps_per_epoch`, so each epoch's order stays
reproducible. With `config.deterministic`, `tf.config.experimental.enable_op_determinism()` is
called first (for the whole process: it cannot be undone), so that two runs with the same seed
are bit-identical whatever the kernels' thread scheduling.
"""

from __future__ import annotations

import dataclasses
import os
import time

import keras

from keras_styletransfer import distribute
from keras_styletransfer.files import (
    check_free_space,
    run_lock,
    write_atomically,
    write_json,
    write_text,
)
from keras_styletransfer.training.callbacks import ChiefBackup, LatestModel, StopOnNonFiniteLoss
from keras_styletransfer.training.checks import check_run_dir, discard_run, estimated_run_bytes


class Recipe:
    """What one kind of run adds to the skeleton; subclasses fill in the hooks.

    Attributes:
        config: RunConfig. Saved as `config.json`; its `epochs`, `seed`, `strategy` and
            `mixed_precision` are used by the skeleton.
        batch_size: int. The global batch size (checked against the replicas).
        steps_per_epoch: int or None. None: one pass over a finite dataset.
        export_name: str. The model name of the export (`exported/<export_name>/1/`).
    """

    config = None
    batch_size = None
    steps_per_epoch = None
    export_name = "model"

    def dataset(self):
        """The training `tf.data.Dataset` (global batches)."""
        raise NotImplementedError

    def build_model(self):
        """The compiled model; called under the strategy's scope."""
        raise NotImplementedError

    def callbacks(self, run_dir):
        """The recipe's own callbacks, writing under `run_dir` (this worker's folder)."""
        return []

    def finish(self, model):
        """Called after `fit`, before the final files are written (e.g. to unfreeze layers)."""

    def outputs(self, model, history, run_dir, seconds):
        """Write the recipe's extra files under `run_dir` after training; return a dict."""
        return {}


@dataclasses.dataclass
class RunResult:
    """What `run` produced.

    Attributes:
        run_dir: str. The run folder.
        model: keras.Model. The trained model.
        history: dict. The logs of every epoch (Keras' `History.history`, preceded by the
            epochs a resumed run had finished before its interruption).
        initial_epoch: int. The epoch training resumed from (0 for a new run).
        seconds: float. Time spent in `fit`.
        export: ExportResult. The exported generator.
        outputs: dict. What the recipe's `outputs` returned.
    """

    run_dir: str
    model: keras.Model
    history: dict
    initial_epoch: int
    seconds: float
    export: object
    outputs: dict

    @property
    def export_path(self):
        """The exported SavedModel's folder in `run_dir` (`exported/NAME/VERSION`)."""
        return os.path.join(self.run_dir, "exported", self.export.name, str(self.export.version))


def run(recipe, run_dir, verbose=1, overwrite=False, inputs=()):
    """Train the model a recipe describes, writing the run's files under `run_dir`.

    Started again on the same `run_dir` after an interruption, it resumes from the last finished
    epoch (weights, optimizers, random states and the epoch counter).

    Args:
        recipe: Recipe.
        run_dir: str. Output folder, created if needed.
        verbose: int. Keras progress bar mode. Defaults to 1.
        overwrite: bool. Discard what an earlier run left in `run_dir` (a finished run, or an
            interrupted one, which is then not resumed) and start from scratch. Defaults to False.
        inputs: paths the run reads (a fine-tuning's source model): `run_dir` may not hold them.

    Returns:
        A `RunResult`.

    Raises:
        InputError: `run_dir` is in use by another run (a lock held while this one runs), holds
            a run or models this one would spoil (see `training.checks.check_run_dir`), cannot
            be written, or its disk is too full.
    """
    if not distribute.is_chief():  # workers write elsewhere; the chief holds the folder
        return _checked_run(recipe, str(run_dir), verbose)
    with run_lock(str(run_dir)):
        if check_run_dir(recipe.config, str(run_dir), overwrite, inputs) == "overwrite":
            discard_run(str(run_dir))
        return _checked_run(recipe, str(run_dir), verbose)


def _checked_run(recipe, run_dir, verbose):
    config = recipe.config
    if getattr(config, "deterministic", False):
        enable_determinism()
    with distribute.mixed_precision(config.mixed_precision):
        strategy = distribute.get_strategy(config.strategy)
        return _run(recipe, config, run_dir, verbose, strategy)


def enable_determinism():
    """Make TensorFlow's ops deterministic for the rest of the process (irreversible): kernels
    without a deterministic version then raise instead of running."""
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()


def endless(dataset, steps_per_epoch):
    """`(dataset, steps_per_epoch)` for a run: a finite dataset of known length without a step
    count is repeated, one pass per epoch, so that one iterator runs through the whole training
    (and a resumed run can skip to its position); anything else is returned as it is."""
    if steps_per_epoch is None:
        count = int(dataset.cardinality())
        if count > 0:
            return dataset.repeat(), count
    return dataset, steps_per_epoch


def merged_history(before, now):
    """The logs of the epochs before a resume (`before`) followed by this invocation's."""
    keys = dict.fromkeys([*before, *now])
    return {key: [*before.get(key, []), *now.get(key, [])] for key in keys}


def _run(recipe, config, run_dir, verbose, strategy):
    from keras_styletransfer.serving.export import export_generator

    distribute.check_global_batch_size(recipe.batch_size, strategy)
    dataset, steps_per_epoch = endless(recipe.dataset(), recipe.steps_per_epoch)
    # The run folder itself on the chief, a private temporary folder on the other workers.
    write_dir = distribute.worker_path(run_dir, strategy)
    os.makedirs(write_dir, exist_ok=True)
    write_text(os.path.join(write_dir, "config.json"), config.to_json() + "\n")  # atomically
    with strategy.scope():
        model = recipe.build_model()
        if distribute.num_replicas(strategy) > 1:
            for network in (*model.generator_networks(), *model.discriminator_networks()):
                distribute.synchronize_batch_norm(network)
    check_free_space(write_dir, estimated_run_bytes(model), "--run-dir")
    # Every worker restores from the shared backup folder; only the chief writes to it.
    backup = ChiefBackup(os.path.join(run_dir, "backup"), strategy=strategy)
    with strategy.scope():
        initial_epoch = backup.restore(model)
    before = {key: list(values) for key, values in backup.history.items()}
    if initial_epoch and steps_per_epoch:
        # The data stream is a function of the seed: continue it where the backup was taken.
        dataset = dataset.skip(initial_epoch * steps_per_epoch)
    callbacks = [
        StopOnNonFiniteLoss(),
        backup,
        LatestModel(os.path.join(write_dir, "checkpoints", "last.keras")),
        keras.callbacks.TensorBoard(os.path.join(write_dir, "logs")),
        *recipe.callbacks(write_dir),
    ]
    started = time.time()
    history = model.fit(
        dataset,
        epochs=config.epochs,
        initial_epoch=initial_epoch,
        steps_per_epoch=steps_per_epoch,
        callbacks=callbacks,
        verbose=verbose,
        shuffle=False,  # the dataset is already a seeded stream; Keras would only warn
    )
    seconds = time.time() - started
    logs = merged_history(before, history.history)
    recipe.finish(model)
    write_atomically(os.path.join(write_dir, "final.keras"), model.save)
    write_atomically(os.path.join(write_dir, "generator.keras"), model.primary_generator().save)
    write_json(os.path.join(write_dir, "history.json"), {"initial_epoch": initial_epoch, **logs})
    export = export_generator(
        model,
        os.path.join(write_dir, "exported"),
        name=recipe.export_name,
        version=1,
        overwrite=True,
    )
    outputs = recipe.outputs(model, logs, write_dir, seconds)
    distribute.remove_worker_files(run_dir, strategy)
    return RunResult(
        run_dir=run_dir,
        model=model,
        history=logs,
        initial_epoch=initial_epoch,
        seconds=seconds,
        export=export,
        outputs=outputs,
    )
