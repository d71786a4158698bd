"""Which generator layers train while fine-tuning: train policies and gradual unfreezing.

See `training.fine_tune` for the policies ("all", "decoder", "last:K", "gradual"). Frozen layers
keep their weights bit for bit: frozen BatchNormalization layers also run in inference mode (Keras
3 semantics), so their moving statistics do not move either.

Keras 3 and changing `trainable` during `fit`: the wrappers' `train_step` reads
`generator_variables()` (each network's `trainable_variables`) when `fit` *traces* the step, so a
change made after tracing is not seen by the running train function. `GradualUnfreezing` therefore
rebuilds it (`model.make_train_function(force=True)`, which `fit` reads before every step) after
each change, and starts a fresh optimizer of the same configuration, as recompiling would (a
shared Adam would give the newly unfrozen weights moments of 0 under a bias correction already
near 1, i.e. steps several times larger than the learning rate).
"""

from __future__ import annotations

import re

import keras

from keras_styletransfer.errors import InputError
from keras_styletransfer.validation import check_int

POLICY_CHOICES = ("all", "decoder", "last:K", "gradual")

# Block names (see `generator_blocks`) that make up the decoder, per generator class.
DECODER_BLOCKS = {
    "ResnetGenerator": r"up\d+|head",
    "StyleGenerator": r"up\d+|head",
    "UNetGenerator": r"up\d+|head",
    "StyleUNetGenerator": r"up\d+|head",
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
            check_int(value, name)
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
