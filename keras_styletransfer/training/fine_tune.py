"""Fine-tuning a trained image-to-image GAN on a new style with a few images (document 004).

Document 004's transfer-learning recipe: start from a trained GAN, choose which parameters train
("only the top", or all of them), and fine-tune on a small set of the new task's images. Its
pseudo-code ran the generator under `torch.no_grad()`, so nothing could train; here the loaded
generator and discriminator train with `model.fit` through the package's own wrappers.

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

Frozen layers keep their weights bit for bit: frozen BatchNormalization layers also run in
inference mode (Keras 3 semantics), so their moving statistics do not move either.

Keras 3 and changing `trainable` during `fit`: the wrappers' `train_step` reads
`generator_variables()` (each network's `trainable_variables`) when `fit` *traces* the step, so a
change made after tracing is not seen by the running train function. `GradualUnfreezing` therefore
rebuilds it (`model.make_train_function(force=True)`, which `fit` reads before every step) after
each change, and starts a fresh optimizer of the same configuration, as recompiling would (a
shared Adam would give the newly unfrozen weights moments of 0 under a bias correction already
near 1, i.e. steps several times larger than the learning rate).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import time

import keras
import numpy as np

from keras_styletransfer.errors import InputError

POLICY_CHOICES = ("all", "decoder", "last:K", "gradual")

# Block names (see `generator_blocks`) that make up the decoder, per generator class.
DECODER_BLOCKS = {
    "ResnetGenerator": r"up\d+|head",
    "StyleGenerator": r"up\d+|head",
    "UNetGenerator": r"up\d+|head",
    "EncoderDecoderGenerator": r"unbottleneck|decode\d+|head",
}

# Layer-name prefixes that name a block; a `skip{i}` concatenation belongs to `up{i}`.
_BLOCK_PATTERN = re.compile(
    r"^(stem|down\d+|res\d+|up\d+|skip\d+|encode\d+|decode\d+|unbottleneck|bottleneck)(?:_|$)"
)


def _policy_error(text):
    return InputError(
        f"unknown train policy {text!r}; choose one of {', '.join(POLICY_CHOICES)} "
        "(K a positive integer, e.g. last:2)."
    )


def parse_train_policy(text):
    """Split a policy string into `(kind, k)`.

    Args:
        text: str. "all", "decoder", "gradual" or "last:K".

    Returns:
        `(kind, k)`: kind in {"all", "decoder", "last", "gradual"}; k an int for "last", else None.

    Raises:
        InputError: for any other string, listing the choices.
    """
    if not isinstance(text, str):
        raise _policy_error(text)
    policy = text.strip().lower()
    if policy in ("all", "decoder", "gradual"):
        return policy, None
    match = re.fullmatch(r"last:(\d+)", policy)
    if match and int(match.group(1)) > 0:
        return "last", int(match.group(1))
    raise _policy_error(text)


def weighted_layers(generator):
    """The generator's layers that own weights, in graph order (input side first)."""
    return [layer for layer in generator.layers if layer.weights]


def _block_name(layer_name):
    match = _BLOCK_PATTERN.match(layer_name)
    if not match:
        return None
    name = match.group(1)
    return "up" + name[4:] if name.startswith("skip") else name


def generator_blocks(generator):
    """The generator's layers with weights grouped into named blocks, input side first.

    A layer belongs to the block its name starts with (`stem`, `down{i}`, `res{i}`, `up{i}`,
    `encode{i}`, `bottleneck`, `unbottleneck`, `decode{i}`); any other layer with weights
    (`to_image`, `styled`, ...) belongs to the block "head". For generators whose layer names
    follow none of these (the noise generators), every layer with weights is its own block.

    Args:
        generator: keras.Model.

    Returns:
        A list of `(block_name, [layers])`, ordered by the block's first layer in the graph.
    """
    blocks = {}
    layers = weighted_layers(generator)
    if not any(_block_name(layer.name) for layer in layers):
        return [(layer.name, [layer]) for layer in layers]
    for layer in layers:
        blocks.setdefault(_block_name(layer.name) or "head", []).append(layer)
    return list(blocks.items())


def decoder_layers(generator):
    """The layers with weights after the bottleneck (see the module docstring).

    Raises:
        InputError: for a generator class without a defined decoder.
    """
    kind = type(generator).__name__
    if kind not in DECODER_BLOCKS:
        raise InputError(
            f"the decoder of a {kind} is not defined; the decoder policy takes "
            f"{', '.join(DECODER_BLOCKS)}. Use --train all, last:K or gradual."
        )
    pattern = re.compile(DECODER_BLOCKS[kind])
    return [
        layer
        for name, layers in generator_blocks(generator)
        if pattern.fullmatch(name)
        for layer in layers
    ]


def set_trainable_layers(generator, trainable):
    """Make exactly the layers in `trainable` train (every other layer frozen).

    Returns:
        The names of the trainable layers that own weights.
    """
    generator.trainable = True
    chosen = {id(layer) for layer in trainable}
    for layer in generator.layers:
        # Layers without weights stay trainable: the flag changes nothing for them.
        layer.trainable = id(layer) in chosen or not layer.weights
    return [layer.name for layer in weighted_layers(generator) if layer.trainable]


def layers_for_policy(generator, policy, stage=1):
    """The layers that train under `policy` (for "gradual": the last `stage` blocks)."""
    kind, k = parse_train_policy(policy)
    layers = weighted_layers(generator)
    if kind == "all":
        return layers
    if kind == "decoder":
        return decoder_layers(generator)
    if kind == "last":
        if k > len(layers):
            raise InputError(
                f"last:{k} asks for more layers than {generator.name} has with weights "
                f"({len(layers)}); choose K from 1 to {len(layers)}."
            )
        return layers[-k:]
    blocks = generator_blocks(generator)
    return [layer for _, block in blocks[max(len(blocks) - stage, 0) :] for layer in block]


def apply_train_policy(generator, policy):
    """Freeze the generator's layers as `policy` says ("gradual": its first stage).

    Args:
        generator: keras.Model.
        policy: str. One of `POLICY_CHOICES`.

    Returns:
        The names of the layers with weights that train.

    Example:
        >>> apply_train_policy(generator, "decoder")
        ['up1', 'up1_norm', 'up2', 'up2_norm', 'to_image']
    """
    return set_trainable_layers(generator, layers_for_policy(generator, policy))


def _fresh_optimizer(optimizer, variables):
    fresh = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    fresh.build(variables)
    return fresh


class GradualUnfreezing(keras.callbacks.Callback):
    """Unfreeze the generators' blocks from the output side, one stage every few epochs.

    During epoch e (0-based) the last `min(1 + e // unfreeze_every, number of blocks)` blocks of
    `generator_blocks` train, times `blocks_per_stage`. At each change the layers' `trainable` flags
    are set, the generator optimizer is replaced by a fresh one of the same configuration built
    on the new variables (as recompiling would), and the wrapper's train function is rebuilt with
    `make_train_function(force=True)`: `train_step` lists `generator_variables()` only when it is
    traced, so without the rebuild the change would not take effect.

    Args:
        generators: list of keras.Model. The networks to unfreeze (both of a CycleGAN).
        unfreeze_every: int. Epochs per stage. Defaults to 1.
        blocks_per_stage: int. Blocks unfrozen per stage. Defaults to 1.

    Attributes:
        stages: list of `(epoch, [trainable block names of the first generator])`, one entry per
            change.

    Example:
        >>> model.fit(data, epochs=12, callbacks=[GradualUnfreezing([model.generator])])
    """

    def __init__(self, generators, unfreeze_every=1, blocks_per_stage=1):
        super().__init__()
        for value, name in ((unfreeze_every, "unfreeze_every"), (blocks_per_stage, "blocks")):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"{name} must be a positive integer; received {value!r}.")
        self.generators = list(generators)
        self.unfreeze_every = unfreeze_every
        self.blocks_per_stage = blocks_per_stage
        self.stages = []
        self._count = None

    def blocks_at(self, epoch):
        """How many output-side blocks train during `epoch` (0-based)."""
        stage = 1 + epoch // self.unfreeze_every
        return min(stage * self.blocks_per_stage, len(generator_blocks(self.generators[0])))

    def set_blocks(self, count):
        """Train the last `count` blocks of every generator; returns the first one's names."""
        for generator in self.generators:
            blocks = generator_blocks(generator)
            chosen = [layer for _, block in blocks[len(blocks) - count :] for layer in block]
            set_trainable_layers(generator, chosen)
        self._count = count
        return [name for name, _ in generator_blocks(self.generators[0])[-count:]]

    def on_epoch_begin(self, epoch, logs=None):
        count = self.blocks_at(epoch)
        if count == self._count:
            return
        self.stages.append((epoch, self.set_blocks(count)))
        model = self.model
        if getattr(model, "generator_optimizer", None) is not None:
            model.generator_optimizer = _fresh_optimizer(
                model.generator_optimizer, model.generator_variables()
            )
        model.make_train_function(force=True)


# --- loading --------------------------------------------------------------------------------------


def load_for_fine_tuning(model, discriminator=None, seed=0):
    """A Pix2Pix or CycleGAN wrapper to fine-tune, from a `.keras` file or a model.

    Args:
        model: str or keras.Model. A `train-style` wrapper (`final.keras` of a pix2pix or CycleGAN
            run), or a generator alone (then fine-tuned as pix2pix).
        discriminator: str, keras.Model or None. With a generator alone: the conditional
            discriminator to continue from; None builds a fresh `PatchGANDiscriminator`
            (conditional, 2 layers, as `train-style` does). Ignored for a wrapper.
        seed: int. Seed of a fresh discriminator. Defaults to 0.

    Returns:
        The wrapper (`Pix2Pix` or `CycleGAN`).
    """
    from keras_styletransfer.models import discriminators
    from keras_styletransfer.models.cyclegan import CycleGAN
    from keras_styletransfer.models.multistyle import MultiStyleGAN
    from keras_styletransfer.models.pix2pix import Pix2Pix

    model = _load(model, "model")
    if isinstance(model, (Pix2Pix, CycleGAN)):
        return model
    if isinstance(model, MultiStyleGAN) or len(getattr(model, "inputs", None) or []) != 1:
        raise InputError(
            f"fine-tune takes a pix2pix or CycleGAN model (train-style --family pix2pix or "
            f"cyclegan) or an image-to-image generator; received a {type(model).__name__}. A "
            "multi-style model learns another style by training it with that style "
            "(train-style --family multistyle --styles ...)."
        )
    if discriminator is None:
        keras.utils.set_random_seed(seed)
        filters = model.get_config().get("filters", 32)
        discriminator = discriminators.PatchGANDiscriminator(
            num_layers=2, filters=filters, conditional=True, norm="batch", name="patchgan"
        )
    else:
        discriminator = _load(discriminator, "discriminator")
    try:
        return Pix2Pix(model, discriminator, seed=seed)
    except ValueError as error:
        raise InputError(f"cannot fine-tune this generator with pix2pix: {error}") from None


def _load(model, what):
    from keras_styletransfer.models.loading import load_trained

    return load_trained(model)


def generators_of(model):
    """The generators a policy applies to: G (pix2pix), or G and F (CycleGAN)."""
    return list(model.generator_networks())


def family_of(model):
    from keras_styletransfer.models.cyclegan import CycleGAN

    return "cyclegan" if isinstance(model, CycleGAN) else "pix2pix"


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
    from keras_styletransfer.config import TranslationConfig

    try:
        return TranslationConfig.load(stored)
    except (TypeError, ValueError, KeyError):
        return None


def _check_int(value, name, low=1):
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InputError(f"{name} must be an integer >= {low}; received {value!r}.")
    return value


def _count(variables):
    return int(sum(np.prod(v.shape) for v in variables))


def _compile(model, learning_rate):

    model.compile(
        generator_optimizer=keras.optimizers.Adam(learning_rate, beta_1=0.5),
        discriminator_optimizer=keras.optimizers.Adam(learning_rate, beta_1=0.5),
    )


def _train(model, policy, dataset, epochs, steps_per_epoch, unfreeze_every, learning_rate, verbose):
    """Compile (optimizers built on every generator variable), apply the policy, fit."""
    from keras_styletransfer.training.callbacks import StopOnNonFiniteLoss

    generators = generators_of(model)
    for generator in generators:
        set_trainable_layers(generator, weighted_layers(generator))
    _compile(model, learning_rate)
    kind, _ = parse_train_policy(policy)
    callbacks = [StopOnNonFiniteLoss()]
    gradual = None
    if kind == "gradual":
        gradual = GradualUnfreezing(generators, unfreeze_every=unfreeze_every)
        callbacks.append(gradual)
    else:
        for generator in generators:
            set_trainable_layers(generator, layers_for_policy(generator, policy))
    started = time.time()
    history = model.fit(
        dataset,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        verbose=verbose,
        callbacks=callbacks,
    )
    seconds = time.time() - started
    trainable = [layer.name for layer in weighted_layers(generators[0]) if layer.trainable]
    return history.history, trainable, (gradual.stages if gradual else []), seconds


def _scratch_copy(model, seed):
    """A model of the same architecture with fresh random weights."""

    keras.utils.set_random_seed(seed)
    return type(model).from_config(model.get_config())


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
):
    """Fine-tune a trained generator (and its discriminator) on a new style with few images.

    Trains on `images` paired (pix2pix) or unpaired (CycleGAN) training crops of the offline photo
    set in the new `style`, for `steps` steps, with the generator layers `train_policy` chooses,
    then scores the held-out photos against their exact stylisation (`evaluate_on_held_out`):
    before fine-tuning, after it, and, with `compare_scratch`, for the same architecture trained
    from random weights on the same images for the same steps.

    Args:
        model: str or keras.Model. `final.keras` of a pix2pix / CycleGAN `train-style` run, the
            wrapper itself (trained in place), or a generator alone (see
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
        run_dir: str. Where to write config.json (a train-style config, so `evaluate` reads
            the run), fine_tune.json, final.keras, generator.keras, saved_model/, metrics.json,
            history.json and results.png. Defaults to None (nothing written).
        seed: int. Defaults to 0.
        compare_scratch: bool. Also train the architecture from scratch. Defaults to False.
        verbose: int. Keras' fit verbosity. Defaults to 0.

    Returns:
        A `FineTuneResult`. Its `metrics` hold "styles" (held-out SSIM / PSNR after fine-tuning
        and of the unchanged photos, as train-style's metrics.json), "before_fine_tuning", and
        "scratch" when asked for, with the settings and timings.
    """
    from keras_styletransfer.config import TranslationConfig, validate_translation_config
    from keras_styletransfer.data.offline_photos import load_offline_style_set
    from keras_styletransfer.data.styles import style_name
    from keras_styletransfer.training.translation import (
        build_dataset,
        evaluate_on_held_out,
        generator_of,
        save_results_grid,
    )

    parse_train_policy(train_policy)
    style = style_name(style)
    steps = _check_int(steps, "steps")
    images = _check_int(images, "images")
    unfreeze_every = _check_int(unfreeze_every, "unfreeze_every")
    if not (isinstance(learning_rate, int | float) and learning_rate > 0):
        raise InputError(f"learning rate must be > 0; received {learning_rate!r}.")
    source = _stored_config(model)
    image_size = image_size or (source.image_size if source else 64)
    steps_per_epoch = _check_int(steps_per_epoch or max(1, steps // 10), "steps_per_epoch")
    epochs = math.ceil(steps / steps_per_epoch)
    source_path = str(model) if isinstance(model, str | os.PathLike) else None
    wrapper = load_for_fine_tuning(model, discriminator, seed=seed)
    if train_policy.strip().lower() == "decoder":
        decoder_layers(generator_of(wrapper))  # an unsupported class fails before any work
    family = family_of(wrapper)
    config = validate_translation_config(
        TranslationConfig(
            family=family,
            styles=(style,),
            image_size=image_size,
            epochs=epochs,
            steps_per_epoch=steps_per_epoch,
            batch_size=batch_size,
            filters=int(generator_of(wrapper).get_config().get("filters", 32)),
            learning_rate=float(learning_rate),
            seed=seed,
        )
    )
    data = few_images(load_offline_style_set(size=image_size, styles=(style,), seed=seed), images)
    before = evaluate_on_held_out(wrapper, config, data)
    keras.utils.set_random_seed(seed)
    history, trainable, stages, seconds = _train(
        wrapper,
        train_policy,
        build_dataset(config, data),
        epochs,
        steps_per_epoch,
        unfreeze_every,
        learning_rate,
        verbose,
    )
    generator = generator_of(wrapper)
    metrics = {
        "family": family,
        "style": style,
        "source_model": source_path,
        "source_styles": list(source.styles) if source else None,
        "train_policy": train_policy,
        "trainable_layers": trainable,
        "trainable_parameters": _count(generator.trainable_variables),
        "generator_parameters": _count(generator.weights),
        "unfreezing_stages": [[epoch, names] for epoch, names in stages],
        "images": len(data.train_content),
        "steps": epochs * steps_per_epoch,
        "image_size": image_size,
        "batch_size": batch_size,
        "learning_rate": float(learning_rate),
        "training_seconds": seconds,
        "held_out_photos": data.sources_of("test"),
        "styles": evaluate_on_held_out(wrapper, config, data),
        "before_fine_tuning": before,
    }
    # The saved model is an ordinary one: every layer trainable again.
    for network in generators_of(wrapper):
        set_trainable_layers(network, weighted_layers(network))
    scratch_model = None
    if compare_scratch:
        scratch_model = _scratch_copy(wrapper, seed)
        keras.utils.set_random_seed(seed)
        _, _, _, scratch_seconds = _train(
            scratch_model,
            "all",
            build_dataset(config, data),
            epochs,
            steps_per_epoch,
            unfreeze_every,
            learning_rate,
            verbose,
        )
        metrics["scratch"] = {
            "training_seconds": scratch_seconds,
            "styles": evaluate_on_held_out(scratch_model, config, data),
        }
    if run_dir:
        os.makedirs(run_dir, exist_ok=True)
        config.save(run_dir)
        settings = {k: metrics[k] for k in ("source_model", "train_policy", "images", "steps")}
        with open(os.path.join(run_dir, "fine_tune.json"), "w") as file:
            json.dump(settings, file, indent=2)
        wrapper.save(os.path.join(run_dir, "final.keras"))
        generator.save(os.path.join(run_dir, "generator.keras"))
        generator.export(os.path.join(run_dir, "saved_model"), verbose=False)
        with open(os.path.join(run_dir, "metrics.json"), "w") as file:
            json.dump(metrics, file, indent=2)
        with open(os.path.join(run_dir, "history.json"), "w") as file:
            json.dump(history, file, indent=2)
        save_results_grid(wrapper, config, data, os.path.join(run_dir, "results.png"))
    return FineTuneResult(
        model=wrapper,
        metrics=metrics,
        history=history,
        trainable_layers=trainable,
        stages=stages,
        run_dir=run_dir,
        seconds=seconds,
        scratch_model=scratch_model,
    )
