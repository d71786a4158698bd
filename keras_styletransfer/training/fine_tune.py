"""Fine-tuning a trained image-to-image GAN on a new style with a few images.

The usual transfer-learning recipe: start from a trained GAN, choose which parameters train
("only the top", or all of them), and fine-tune on a small set of the new task's images. The
loaded generator and discriminator train with `model.fit` through the package's own wrappers, in
the run skeleton (`training.run`): a fine-tuning run writes the same files as any run
(config.json, logs/, checkpoints/last.keras, final.keras, generator.keras, history.json,
exported/NAME/1/) plus fine_tune.json, metrics.json and results.png.

What trains in the generator (`train_policy`); the discriminator always trains fully (it must
learn what the new style looks like):

- `"all"`: every layer.
- `"decoder"`: the layers after the bottleneck, by layer name (see `DECODER_BLOCKS`):
  `ResnetGenerator` / `StyleGenerator`: the upsampling blocks `up{i}*` and the head
  (`head_pad`, `to_image` / `styled`), i.e. everything after the residual blocks;
  `UNetGenerator`: the decoder path `up{i}*` (with its `skip{i}` concatenations) and `to_image`;
  `EncoderDecoderGenerator`: `unbottleneck*`, `decode{i}*` and `to_image`.
- `"last:K"`: the last K layers that have weights (in graph order), e.g. `last:2`.
- `"gradual"`: gradual unfreezing (Howard & Ruder, 2018): at first only the output-side block
  trains; every `unfreeze_every` epochs the next block towards the input joins
  (`GradualUnfreezing`). Blocks are named groups of layers (`generator_blocks`): the stem,
  each `down{i}` / `encode{i}`, each residual block `res{i}`, each `up{i}` / `decode{i}`, the head.

Which layers train, and how gradual unfreezing works under Keras 3, is in `training.freezing`.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tempfile
import time

import keras
import numpy as np

from keras_styletransfer.config import TranslationConfig
from keras_styletransfer.data.styles import style_name
from keras_styletransfer.errors import InputError
from keras_styletransfer.evaluation import evaluate_on_held_out
from keras_styletransfer.files import write_json
from keras_styletransfer.models.discriminators import PatchGANDiscriminator
from keras_styletransfer.models.loading import check_finite_weights, load_trained
from keras_styletransfer.models.pix2pix import Pix2Pix
from keras_styletransfer.seeding import seeded
from keras_styletransfer.training.callbacks import StopOnNonFiniteLoss
from keras_styletransfer.training.checks import validate_translation_config
from keras_styletransfer.training.freezing import (  # noqa: F401  (public here too)
    DECODER_BLOCKS,
    POLICY_CHOICES,
    GradualUnfreezing,
    apply_train_policy,
    decoder_layers,
    generator_blocks,
    layers_for_policy,
    parse_train_policy,
    set_trainable_layers,
    weighted_layers,
)
from keras_styletransfer.training.outputs import save_results_grid
from keras_styletransfer.training.run import Recipe, run
from keras_styletransfer.training.translation import build_dataset, offline_style_set, served_name
from keras_styletransfer.validation import check_int, check_positive_number

# --- loading --------------------------------------------------------------------------------------

FINE_TUNED_FAMILIES = ("pix2pix", "cyclegan", "cut")  # FastCUT is a CUT (its family)


def load_for_fine_tuning(model, discriminator=None, seed=0):
    """A Pix2Pix, CycleGAN or CUT / FastCUT wrapper to fine-tune, from a `.keras` file or a model.

    Args:
        model: str or keras.Model. A `train-style` wrapper (`final.keras` of a pix2pix, CycleGAN,
            CUT or FastCUT run), or a generator alone (then fine-tuned as pix2pix).
        discriminator: str, keras.Model or None. With a generator alone: the conditional
            discriminator to continue from; None builds a fresh `PatchGANDiscriminator`
            (conditional, 2 layers, as `train-style` does). Ignored for a wrapper.
        seed: int. Seed of a fresh discriminator. Defaults to 0.

    Returns:
        The wrapper (`Pix2Pix` or `CycleGAN`).
    """
    model = check_finite_weights(load_trained(model))  # never fine-tune a diverged model
    family = getattr(model, "family", None)
    if family in FINE_TUNED_FAMILIES:
        return model
    if family is not None or len(getattr(model, "inputs", None) or []) != 1:
        raise InputError(
            "fine-tune takes a pix2pix, CycleGAN, CUT or FastCUT model (train-style --family "
            "pix2pix, cyclegan, cut or fastcut) or an image-to-image generator; received a "
            f"{type(model).__name__}. A "
            "multi-style model learns another style by training it with that style "
            "(train-style --family multistyle --styles ...)."
        )
    if discriminator is None:
        filters = model.get_config().get("filters", 32)
        with seeded(seed):
            discriminator = PatchGANDiscriminator(
                num_layers=2, filters=filters, conditional=True, norm="batch", name="patchgan"
            )
    else:
        discriminator = load_trained(discriminator)
    try:
        return Pix2Pix(model, discriminator, seed=seed)
    except ValueError as error:
        raise InputError(f"cannot fine-tune this generator with pix2pix: {error}") from None


# --- data -----------------------------------------------------------------------------------------


def few_images(data, count):
    """The offline style set with only `count` training images on each side.

    The kept crops are evenly spaced through the training crops, so every content photo (and
    every style photo) contributes. Held-out photos are unchanged.

    Args:
        data: OfflineStyleSet.
        count: int. Training images to keep, 1 to the number there are.

    Returns:
        A new `OfflineStyleSet`.
    """
    total = len(data.train_content)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= total:
        raise InputError(f"images must be an integer from 1 to {total}; received {count!r}.")
    keep = np.unique(np.linspace(0, total - 1, count).round().astype(int))

    def subset(arrays):
        return {name: array[keep] for name, array in arrays.items()}

    return dataclasses.replace(
        data,
        train_content=data.train_content[keep],
        train_content_sources=data.train_content_sources[keep],
        train_paired=subset(data.train_paired),
        train_style_photos=data.train_style_photos[keep],
        train_style_sources=data.train_style_sources[keep],
        train_style=subset(data.train_style),
    )


# --- fine-tuning ----------------------------------------------------------------------------------


@dataclasses.dataclass
class FineTuneResult:
    """What `fine_tune` returns.

    Attributes:
        model: the fine-tuned wrapper.
        metrics: dict. What metrics.json holds (see `fine_tune`).
        history: dict. Keras history.
        trainable_layers: list of str. Generator layers that trained at the end.
        stages: list of `(epoch, blocks)` for "gradual", else [].
        run_dir: str or None.
        seconds: float. Fine-tuning time (training only).
        scratch_model: the model trained from scratch, when asked for.
    """

    model: object
    metrics: dict
    history: dict
    trainable_layers: list
    stages: list
    run_dir: str | None
    seconds: float
    scratch_model: object = None


def _stored_config(path):
    """The TranslationConfig beside a `final.keras`, or None."""
    if not isinstance(path, str | os.PathLike):
        return None
    stored = os.path.join(os.path.dirname(os.path.abspath(path)), "config.json")
    if not os.path.isfile(stored):
        return None
    try:
        return TranslationConfig.load(stored)
    except (TypeError, ValueError, KeyError):
        return None


def _count(variables):
    return int(sum(np.prod(v.shape) for v in variables))


def _compile(model, learning_rate):
    model.compile(
        generator_optimizer=keras.optimizers.Adam(learning_rate, beta_1=0.5),
        discriminator_optimizer=keras.optimizers.Adam(learning_rate, beta_1=0.5),
    )


def _prepare(model, policy, learning_rate, unfreeze_every):
    """Compile (optimizers built on every generator variable), then apply the policy.

    Returns:
        The `GradualUnfreezing` callback for "gradual", else None.
    """
    for network in model.generator_networks():
        set_trainable_layers(network, weighted_layers(network))
    _compile(model, learning_rate)
    # The policy is about the image generators; CUT's feature heads train fully, as D does.
    generators = _policy_networks(model)
    kind, _ = parse_train_policy(policy)
    if kind == "gradual":
        return GradualUnfreezing(generators, unfreeze_every=unfreeze_every)
    for generator in generators:
        set_trainable_layers(generator, layers_for_policy(generator, policy))
    return None


def _policy_networks(model):
    """The generators a train policy applies to: every generator-side network but CUT's
    PatchNCE heads (`generator_projection`)."""
    heads = getattr(model, "networks", {}).get("generator_projection")
    return [network for network in model.generator_networks() if network is not heads]


def _scratch_copy(model, seed):
    """A model of the same architecture with fresh random weights drawn from `seed`."""
    with seeded(seed):
        return type(model).from_config(model.get_config())


class FineTuneRecipe(Recipe):
    """Fine-tuning as a recipe of the run skeleton: a loaded wrapper, a train policy, a few
    images; scored on the held-out photos before and after (and against training from scratch).
    """

    def __init__(self, config, model, data, settings):
        self.config = config
        self.model = model
        self.data = data
        self.settings = settings
        self.batch_size = config.batch_size
        self.steps_per_epoch = config.steps_per_epoch
        self.export_name = served_name(config)
        self.gradual = None
        self.before = None
        self.trainable = []

    def dataset(self):
        return build_dataset(self.config, self.data)

    def build_model(self):
        self.before = evaluate_on_held_out(self.model, self.config, self.data)
        self.gradual = _prepare(
            self.model,
            self.settings["train_policy"],
            self.config.learning_rate,
            self.settings["unfreeze_every"],
        )
        return self.model

    def callbacks(self, run_dir):
        return [self.gradual] if self.gradual else []

    def finish(self, model):
        generator = model.primary_generator()
        self.trainable = [layer.name for layer in weighted_layers(generator) if layer.trainable]
        self.trainable_parameters = _count(generator.trainable_variables)
        # The saved model is an ordinary one: every layer trainable again.
        for network in model.generator_networks():
            set_trainable_layers(network, weighted_layers(network))

    def outputs(self, model, history, run_dir, seconds):
        config, data = self.config, self.data
        stages = self.gradual.stages if self.gradual else []
        metrics = {
            "family": model.family,
            "style": config.styles[0],
            "source_model": self.settings["source_model"],
            "source_styles": self.settings["source_styles"],
            "train_policy": self.settings["train_policy"],
            "trainable_layers": self.trainable,
            "trainable_parameters": self.trainable_parameters,
            "generator_parameters": _count(model.primary_generator().weights),
            "unfreezing_stages": [[epoch, names] for epoch, names in stages],
            "images": len(data.train_content),
            "steps": config.epochs * config.steps_per_epoch,
            "image_size": config.image_size,
            "batch_size": config.batch_size,
            "learning_rate": config.learning_rate,
            "training_seconds": seconds,
            "held_out_photos": data.sources_of("test"),
            "styles": evaluate_on_held_out(model, config, data),
            "before_fine_tuning": self.before,
        }
        scratch_model = None
        if self.settings["compare_scratch"]:
            scratch_model, metrics["scratch"] = self.train_from_scratch(model)
        settings = {k: metrics[k] for k in ("source_model", "train_policy", "images", "steps")}
        write_json(os.path.join(run_dir, "fine_tune.json"), settings)
        write_json(os.path.join(run_dir, "metrics.json"), metrics)
        save_results_grid(model, config, data, os.path.join(run_dir, "results.png"))
        return {"metrics": metrics, "scratch_model": scratch_model, "stages": stages}

    def train_from_scratch(self, model):
        """The same architecture from random weights, trained on the same images and steps."""
        config = self.config
        scratch = _scratch_copy(model, config.seed)
        _prepare(scratch, "all", config.learning_rate, self.settings["unfreeze_every"])
        started = time.time()
        scratch.fit(
            self.dataset(),
            epochs=config.epochs,
            steps_per_epoch=config.steps_per_epoch,
            verbose=self.settings["verbose"],
            callbacks=[StopOnNonFiniteLoss()],
            shuffle=False,  # a seeded tf.data stream already
        )
        return scratch, {
            "training_seconds": time.time() - started,
            "styles": evaluate_on_held_out(scratch, config, self.data),
        }


def fine_tune(
    model,
    style,
    *,
    train_policy="decoder",
    steps=200,
    images=8,
    batch_size=4,
    learning_rate=2e-4,
    image_size=None,
    steps_per_epoch=None,
    unfreeze_every=1,
    discriminator=None,
    run_dir=None,
    seed=0,
    compare_scratch=False,
    verbose=0,
    overwrite=False,
    deterministic=False,
):
    """Fine-tune a trained generator (and its discriminator) on a new style with few images.

    Trains on `images` paired (pix2pix) or unpaired (CycleGAN, CUT) training crops of the offline
    photo set in the new `style`, for `steps` steps, with the generator layers `train_policy`
    chooses (CUT's feature heads always train), then scores the held-out photos against their
    exact stylisation (`evaluate_on_held_out`): before fine-tuning, after it, and, with
    `compare_scratch`, for the same architecture trained from random weights on the same images
    for the same steps.

    Args:
        model: str or keras.Model. `final.keras` of a pix2pix / CycleGAN / CUT `train-style` run,
            the wrapper itself (trained in place), or a generator alone (see
            `load_for_fine_tuning`).
        style: str. The new style: a name in `keras_styletransfer.data.styles.STYLES`.
        train_policy: str. "all", "decoder", "last:K" or "gradual" (module docstring).
            Defaults to "decoder".
        steps: int. Training steps (rounded up to whole epochs). Defaults to 200.
        images: int. Training images. Defaults to 8.
        batch_size: int. Defaults to 4.
        learning_rate: float. Adam's (beta_1 0.5) for G and D. Defaults to 2e-4.
        image_size: int. Training crop side; defaults to the source run's (its config.json), else
            64.
        steps_per_epoch: int. Defaults to `steps` / 10 (at least 1); "gradual" unfreezes per epoch.
        unfreeze_every: int. Epochs per unfreezing stage ("gradual"). Defaults to 1.
        discriminator: str or keras.Model. With a generator alone, its discriminator.
        run_dir: str. Where the run's files go (the run skeleton's layout, with a train-style
            config.json so `evaluate` reads the run, plus fine_tune.json, metrics.json and
            results.png). Defaults to None (a temporary folder, deleted afterwards).
        seed: int. Defaults to 0.
        compare_scratch: bool. Also train the architecture from scratch. Defaults to False.
        verbose: int. Keras' fit verbosity. Defaults to 0.
        overwrite: bool. Replace a finished or interrupted run in `run_dir` (never the source
            model's folder). Defaults to False.
        deterministic: bool. TensorFlow op determinism (see `RunConfig.deterministic`).
            Defaults to False.

    Returns:
        A `FineTuneResult`. Its `metrics` hold "styles" (held-out SSIM / PSNR after fine-tuning
        and of the unchanged photos, as train-style's metrics.json), "before_fine_tuning", and
        "scratch" when asked for, with the settings and timings.
    """
    parse_train_policy(train_policy)
    style = style_name(style)
    steps = check_int(steps, "steps")
    images = check_int(images, "images")
    unfreeze_every = check_int(unfreeze_every, "unfreeze_every")
    learning_rate = check_positive_number(learning_rate, "learning rate")
    source = _stored_config(model)
    image_size = image_size or (source.image_size if source else 64)
    steps_per_epoch = check_int(steps_per_epoch or max(1, steps // 10), "steps_per_epoch")
    epochs = math.ceil(steps / steps_per_epoch)
    source_path = str(model) if isinstance(model, str | os.PathLike) else None
    wrapper = load_for_fine_tuning(model, discriminator, seed=seed)
    generator = wrapper.primary_generator()
    if train_policy.strip().lower() == "decoder":
        decoder_layers(generator)  # an unsupported class fails before any work
    config = validate_translation_config(
        TranslationConfig(
            family=wrapper.family,
            styles=(style,),
            image_size=image_size,
            epochs=epochs,
            steps_per_epoch=steps_per_epoch,
            batch_size=batch_size,
            filters=int(generator.get_config().get("filters", 32)),
            learning_rate=learning_rate,
            seed=seed,
            # The model is loaded (or given) outside any strategy's scope.
            strategy="default",
            deterministic=bool(deterministic),
        )
    )
    data = few_images(offline_style_set(config), images)
    settings = {
        "train_policy": train_policy,
        "unfreeze_every": unfreeze_every,
        "source_model": source_path,
        "source_styles": list(source.styles) if source else None,
        "compare_scratch": compare_scratch,
        "verbose": verbose,
    }
    recipe = FineTuneRecipe(config, wrapper, data, settings)
    with tempfile.TemporaryDirectory(prefix="fine_tune-") as temporary:
        inputs = [path for path in (source_path, discriminator) if isinstance(path, str)]
        result = run(
            recipe, run_dir or temporary, verbose=verbose, overwrite=overwrite, inputs=inputs
        )
    return FineTuneResult(
        model=wrapper,
        metrics=result.outputs["metrics"],
        history=result.history,
        trainable_layers=recipe.trainable,
        stages=result.outputs["stages"],
        run_dir=run_dir,
        seconds=result.seconds,
        scratch_model=result.outputs["scratch_model"],
    )
