"""The one run skeleton: every kind of training run (noise GAN, translation, fine-tuning) goes
through `run(recipe, run_dir)`, and so writes the same artefact layout:

    config.json                the frozen config of the run
    logs/                      TensorBoard scalars (and a recipe's images)
    checkpoints/last.keras     the whole model after the last finished epoch (optimizers included)
    backup/                    resumable per-epoch state while training runs (deleted on success)
    final.keras                the trained model, written when training ends
    generator.keras            its primary generator alone
    history.json               `initial_epoch` and the Keras history of this invocation
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
"""

from __future__ import annotations

import dataclasses
import json
import os
import time

import keras

from keras_styletransfer import distribute
from keras_styletransfer.training.callbacks import ChiefBackup, LatestModel, StopOnNonFiniteLoss


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
        history: dict. Keras' `History.history` of this invocation.
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


def run(recipe, run_dir, verbose=1):
    """Train the model a recipe describes, writing the run's files under `run_dir`.

    Started again on the same `run_dir` after an interruption, it resumes from the last finished
    epoch (weights, optimizers, random states and the epoch counter).

    Args:
        recipe: Recipe.
        run_dir: str. Output folder, created if needed.
        verbose: int. Keras progress bar mode. Defaults to 1.

    Returns:
        A `RunResult`.
    """
    config = recipe.config
    with distribute.mixed_precision(config.mixed_precision):
        strategy = distribute.get_strategy(config.strategy)
        return _run(recipe, config, str(run_dir), verbose, strategy)


def _run(recipe, config, run_dir, verbose, strategy):
    from keras_styletransfer.serving.export import export_generator

    distribute.check_global_batch_size(recipe.batch_size, strategy)
    dataset = recipe.dataset()
    # The run folder itself on the chief, a private temporary folder on the other workers.
    write_dir = distribute.worker_path(run_dir, strategy)
    os.makedirs(write_dir, exist_ok=True)
    config.save(write_dir)
    with strategy.scope():
        model = recipe.build_model()
        if distribute.num_replicas(strategy) > 1:
            for network in (*model.generator_networks(), *model.discriminator_networks()):
                distribute.synchronize_batch_norm(network)
    # Every worker restores from the shared backup folder; only the chief writes to it.
    backup = ChiefBackup(os.path.join(run_dir, "backup"), strategy=strategy)
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
        steps_per_epoch=recipe.steps_per_epoch,
        callbacks=callbacks,
        verbose=verbose,
    )
    seconds = time.time() - started
    recipe.finish(model)
    model.save(os.path.join(write_dir, "final.keras"))
    model.primary_generator().save(os.path.join(write_dir, "generator.keras"))
    with open(os.path.join(write_dir, "history.json"), "w") as file:
        json.dump({"initial_epoch": backup.restored_epoch, **history.history}, file, indent=2)
    export = export_generator(
        model,
        os.path.join(write_dir, "exported"),
        name=recipe.export_name,
        version=1,
        overwrite=True,
    )
    outputs = recipe.outputs(model, history.history, write_dir, seconds)
    distribute.remove_worker_files(run_dir, strategy)
    return RunResult(
        run_dir=run_dir,
        model=model,
        history=history.history,
        initial_epoch=backup.restored_epoch,
        seconds=seconds,
        export=export,
        outputs=outputs,
    )
