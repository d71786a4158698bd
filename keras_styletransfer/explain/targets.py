"""What an explanation explains: differentiable per-image scores of a GAN's networks.

A *target* is a callable object, `target(images) -> (batch,) float32`, differentiable with
respect to `images`. Attribution methods (`explain.attribution`) take one and explain its score.
`build_target(name, ...)` makes them; `TARGETS` lists the names.

Per-image side data (a conditional discriminator's source images, a per-image region mask)
lives in `target.condition`, a dict of tensors whose first axis is the batch. Attribution
methods evaluate a target on *rows*: each explained image repeated k times consecutively
(noisy copies, integration steps); `target.score(rows, condition_rows)` takes the condition
repeated the same way (`repeat_condition`), and `target(images)` does that itself when the
batch of `images` is a multiple of the condition's batch.

Names map to the papers' symbols as: G = `generator`, F = the backward generator of a CycleGAN,
D = `discriminator`.
"""

from __future__ import annotations

from keras_styletransfer.errors import InputError

TARGETS = {
    "realness": "mean of D's output map (D's verdict 'real'); a conditional PatchGAN D judges "
    "[source, image]",
    "region_realness": "mean of D's patch map inside a mask (resized to the map)",
    "style": "D's auxiliary style-classifier logit of one named style",
    "edit": "mean |G(x) - x|: how much the generator changes the image",
    "cycle": "mean cycle error |F(G(x)) - x| (CycleGAN pair; MultiStyleGAN: back to the photo)",
    "unit": "mean activation of one channel (`unit`) of a named layer (`layer`)",
    "realness_of_generated": "D(G(x)) as a function of the content image x",
}


def _tf():
    import tensorflow as tf

    return tf


def is_wrapper(value):
    """Whether `value` is one of the package's adversarial wrappers (an `AdversarialModel`)."""
    if value is None:
        return False
    from keras_styletransfer.models.adversarial import AdversarialModel

    return isinstance(value, AdversarialModel)


def unwrap_models(model=None, generator=None, discriminator=None):
    """Pick the generator(s), discriminator and style names out of a wrapper or plain networks.

    A wrapper gives its primary generator and discriminator (its first direction's: a
    CycleGAN's G: A -> B, judged by D_B), the generator of the opposite direction as the
    backward generator, and its generator's style slots.

    Args:
        model: an adversarial wrapper (`GAN`, `Pix2Pix`, `CycleGAN`, `MultiStyleGAN`), or None.
            Defaults to None.
        generator: keras.Model, a (G, F) pair, or a wrapper. Defaults to None.
        discriminator: keras.Model or a wrapper. Defaults to None.

    Returns:
        dict with keys "generator", "backward_generator", "discriminator", "style_names" (the
        generator's style slots), "content_index" (the slot that is not a target style: a
        MultiStyleGAN's photo domain), "condition" (the wrapper's `discriminator_condition`)
        (None where unknown).
    """
    found = dict.fromkeys(
        (
            "generator",
            "backward_generator",
            "discriminator",
            "style_names",
            "content_index",
            "condition",
        )
    )
    for candidate in (model, generator, discriminator):
        if not is_wrapper(candidate):
            continue
        direction = candidate.directions[0]
        if found["generator"] is None:
            found["generator"] = candidate.primary_generator(direction)
        if found["discriminator"] is None:
            found["discriminator"] = candidate.primary_discriminator(direction)
            found["condition"] = candidate.discriminator_condition
        others = [d for d in candidate.directions if d != direction]
        if others:
            found["backward_generator"] = candidate.primary_generator(others[0])
        slots = candidate.generator_style_names
        if slots is not None:
            found["style_names"] = list(slots)
            targets = set(candidate.style_names)
            found["content_index"] = next(
                (index for index, name in enumerate(slots) if name not in targets), None
            )
    if isinstance(generator, tuple | list):
        found["generator"], found["backward_generator"] = generator
    elif generator is not None and not is_wrapper(generator):
        found["generator"] = generator
    if discriminator is not None and not is_wrapper(discriminator):
        found["discriminator"] = discriminator
        found["condition"] = None
    return found


def condition_for(found, images, style_index=0):
    """The condition a conditional discriminator judges outputs of `images` with, or None for
    an unconditional one: the wrapper's `discriminator_condition` (the photo, plus the style
    maps of a paired multi-style model) when `unwrap_models` found a wrapper, else the images.
    """
    discriminator = found["discriminator"]
    if not is_conditional(discriminator):
        return None
    if found.get("condition") is not None:
        return found["condition"](images, style_index)
    expected = discriminator.inputs[0].shape[-1]
    if expected is not None and expected != images.shape[-1]:
        raise InputError(
            f"{discriminator.name!r} takes a condition of {expected} channels, not the "
            f"{images.shape[-1]}-channel images alone; pass the trained wrapper (final.keras), "
            "which knows how to build it."
        )
    return images


def is_conditional(discriminator):
    """True when `discriminator` takes [condition, image] (two inputs)."""
    return len(getattr(discriminator, "inputs", None) or []) == 2


def is_style_generator(generator):
    """True when `generator` takes {"image", "style", "strength"}."""
    return len(getattr(generator, "inputs", None) or []) == 3


def repeat_condition(condition, repeats):
    """Repeat every per-image tensor of `condition` `repeats` times consecutively (tf.repeat)."""
    tf = _tf()
    if not condition:
        return {}
    return {key: tf.repeat(value, repeats, axis=0) for key, value in condition.items()}


def slice_condition(condition, start, stop):
    """Rows `start:stop` of every tensor of `condition`."""
    return {key: value[start:stop] for key, value in (condition or {}).items()}


def find_layer(networks, layer_name):
    """Find a layer by name in `networks` (searched in order, nested models included).

    Args:
        networks: list of keras.Model.
        layer_name: str. A layer name, or "network_name/layer_name" to choose the network.

    Returns:
        (keras.Model, keras.layers.Layer): the network holding it and the layer.

    Raises:
        InputError: no such layer; the message lists the layers there are.
    """
    wanted_network = None
    name = layer_name
    if isinstance(layer_name, str) and "/" in layer_name:
        wanted_network, name = layer_name.split("/", 1)
    for network in networks:
        if wanted_network is not None and network.name != wanted_network:
            continue
        for layer in _all_layers(network):
            if layer.name == name:
                return network, layer
    choices = [
        f"{network.name}/{layer.name}" for network in networks for layer in _all_layers(network)
    ]
    raise InputError(
        f"No layer named {layer_name!r} in {[n.name for n in networks]}. Valid layers: "
        + ", ".join(choices)
    )


def _all_layers(network):
    import keras

    for layer in network.layers:
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)
        yield layer


class LayerCapture:
    """Context manager hooking a layer's `call` so its outputs are kept (on the gradient tape).

    Built on `keras_styletransfer.layers.wrap_layer_call`: works on functional, subclassed,
    nested and multi-input models, eagerly or in tf.function.
    """

    def __init__(self, layer):
        self.layer = layer
        self.outputs = []
        self._hook = None

    def _keep(self, call, *args, **kwargs):
        output = call(*args, **kwargs)
        self.outputs.append(output)
        return output

    def __enter__(self):
        from keras_styletransfer.layers import wrap_layer_call

        self._hook = wrap_layer_call(self.layer, self._keep)
        self._hook.__enter__()
        return self

    def __exit__(self, *exc):
        hook, self._hook = self._hook, None
        hook.__exit__(*(exc or (None, None, None)))
        return False

    @property
    def output(self):
        if not self.outputs:
            raise InputError(f"Layer {self.layer.name!r} was not called by the explained model.")
        return self.outputs[-1]


def _first_output(outputs):
    if isinstance(outputs, list | tuple):
        return outputs[0]
    return outputs


def _is_multitask(discriminator):
    """A discriminator with one map of patch logits per domain (`PatchGANDiscriminator(
    num_outputs=K)` with K > 1, StarGAN v2's multi-task discriminator)."""
    outputs = getattr(discriminator, "outputs", None) or []
    return len(outputs) == 1 and len(outputs[0].shape) == 4 and (outputs[0].shape[-1] or 1) > 1


def _domain_map(logits, index):
    """Domain `index`'s map (batch, h, w) of a multi-task discriminator's logits."""
    return logits[..., index]


def _per_image_mean(tensor):
    from keras_styletransfer.losses import per_example_mean

    tf = _tf()
    return per_example_mean(tf.cast(tensor, tf.float32))


class Target:
    """A differentiable per-image score; see the module docstring.

    Attributes:
        name: str. The target's name (a key of `TARGETS`).
        description: str.
        networks: list of keras.Model. The networks it runs, searched in order for layers.
        condition: dict of per-image tensors (batch first), or {}.
    """

    name = "target"

    def __init__(self, networks, condition=None, description=None):
        self.networks = [n for n in networks if n is not None]
        self.condition = dict(condition or {})
        self.description = description or TARGETS.get(self.name, self.name)

    def score(self, images, condition):
        """Per-image scores (batch,) of `images`, `condition` already aligned with them."""
        raise NotImplementedError

    def __call__(self, images):
        tf = _tf()
        images = tf.convert_to_tensor(images, tf.float32)
        condition = self.condition
        if condition:
            rows = images.shape[0]
            count = next(iter(condition.values())).shape[0]
            if rows is not None and count and rows != count:
                if rows % count:
                    raise InputError(
                        f"target {self.name!r} has per-image data for {count} images; received "
                        f"{rows} images (must be a multiple)."
                    )
                condition = repeat_condition(condition, rows // count)
        return self.score(images, condition)

    def __repr__(self):
        return f"<Target {self.name}: {self.description}>"


class FunctionTarget(Target):
    """A target from a plain function `function(images) -> (batch,)` (or a model: mean output)."""

    def __init__(self, function, networks=(), name="function"):
        import keras

        self.name = name
        if isinstance(function, keras.Model):
            networks = [function, *networks]
        self.function = function
        super().__init__(networks, description=f"mean output of {name}")

    def score(self, images, condition):
        return _per_image_mean(_first_output(self.function(images, training=False)))


def _discriminate(discriminator, images, condition):
    if is_conditional(discriminator):
        return discriminator([condition["source"], images], training=False)
    return discriminator(images, training=False)


class RealnessTarget(Target):
    name = "realness"

    def __init__(self, discriminator, condition=None, style_index=0):
        super().__init__([discriminator], condition)
        self.discriminator, self.style_index = discriminator, int(style_index)

    def _patch_map(self, images, condition):
        """D's logits (batch, h, w, 1) or (batch, 1); for a multi-task D, those of the domain
        `style_index` only: its maps are trained apart, so their mean would mean nothing."""
        outputs = _discriminate(self.discriminator, images, condition)
        if _is_multitask(self.discriminator):
            return _domain_map(outputs, self.style_index)[..., None]
        return _first_output(outputs)

    def score(self, images, condition):
        return _per_image_mean(self._patch_map(images, condition))


class RegionRealnessTarget(RealnessTarget):
    name = "region_realness"

    def __init__(self, discriminator, mask, condition=None, style_index=0):
        tf = _tf()
        mask = tf.convert_to_tensor(mask, tf.float32)
        if len(mask.shape) == 2:
            mask = mask[None, :, :, None]
            self.shared_mask = mask
        elif len(mask.shape) in (3, 4):
            mask = mask if len(mask.shape) == 4 else mask[..., None]
            self.shared_mask = None
            condition = {**(condition or {}), "mask": mask}
        else:
            raise InputError(f"mask must be (H, W) or (batch, H, W); received {mask.shape}.")
        super().__init__(discriminator, condition, style_index)

    def score(self, images, condition):
        tf = _tf()
        patch_map = tf.cast(self._patch_map(images, condition), tf.float32)
        if len(patch_map.shape) != 4:
            raise InputError(
                f"region_realness needs a discriminator with a patch map (batch, h, w, 1); "
                f"{self.discriminator.name!r} returns {patch_map.shape}. Use 'realness'."
            )
        mask = self.shared_mask if self.shared_mask is not None else condition["mask"]
        mask = tf.image.resize(mask, tf.shape(patch_map)[1:3], method="area")
        mask = tf.broadcast_to(mask, tf.shape(patch_map[..., :1]))
        weighted = tf.reduce_sum(patch_map * mask, axis=[1, 2, 3])
        return weighted / tf.maximum(tf.reduce_sum(mask, axis=[1, 2, 3]), 1e-8)


class StyleTarget(Target):
    name = "style"

    def __init__(self, discriminator, style_index, style_name=None):
        super().__init__([discriminator])
        self.discriminator = discriminator
        self.style_index = int(style_index)
        self.description = f"D's style logit of {style_name or style_index!r}"

    def score(self, images, condition):
        outputs = self.discriminator(images, training=False)
        if _is_multitask(self.discriminator):  # the style's own map, averaged over patches
            return _per_image_mean(_domain_map(outputs, self.style_index))
        tf = _tf()
        return tf.cast(outputs[1][:, self.style_index], tf.float32)


class _Generating:
    """Runs G (plain, or a style generator at one style index and strength)."""

    def _generate(self, generator, images, style_index, strength=1.0):
        tf = _tf()
        if not is_style_generator(generator):
            return generator(images, training=False)
        batch = tf.shape(images)[0]
        slots = int(generator.inputs[1].shape[-1])
        style = tf.one_hot(tf.fill([batch], style_index), slots, dtype=images.dtype)
        strength = tf.fill([batch, 1], tf.cast(strength, images.dtype))
        return generator({"image": images, "style": style, "strength": strength}, training=False)


class EditTarget(Target, _Generating):
    name = "edit"

    def __init__(self, generator, style_index=0):
        super().__init__([generator])
        self.generator, self.style_index = generator, style_index

    def score(self, images, condition):
        tf = _tf()
        generated = tf.cast(self._generate(self.generator, images, self.style_index), tf.float32)
        return _per_image_mean(tf.abs(generated - images))


class CycleTarget(Target, _Generating):
    name = "cycle"

    def __init__(self, generator, backward_generator, style_index=0, back_index=0):
        super().__init__([generator, backward_generator])
        self.generator, self.backward_generator = generator, backward_generator
        self.style_index, self.back_index = style_index, back_index

    def score(self, images, condition):
        tf = _tf()
        forward = self._generate(self.generator, images, self.style_index)
        back = self._generate(self.backward_generator, forward, self.back_index)
        return _per_image_mean(tf.abs(tf.cast(back, tf.float32) - images))


class RealnessOfGeneratedTarget(Target, _Generating):
    name = "realness_of_generated"

    def __init__(self, generator, discriminator, style_index=0):
        super().__init__([discriminator, generator])
        self.generator, self.discriminator, self.style_index = (
            generator,
            discriminator,
            style_index,
        )

    def score(self, images, condition):
        generated = self._generate(self.generator, images, self.style_index)
        # A conditional D judges the pair (x, G(x)): the condition is the content image itself.
        outputs = _discriminate(self.discriminator, generated, {"source": images})
        if _is_multitask(self.discriminator):  # judged as an image of the style it was made in
            return _per_image_mean(_domain_map(outputs, self.style_index))
        return _per_image_mean(_first_output(outputs))


class UnitTarget(Target, _Generating):
    name = "unit"

    def __init__(self, network, layer, unit, condition=None, style_index=0):
        super().__init__([network], condition)
        self.network, self.layer, self.unit, self.style_index = network, layer, unit, style_index

    def score(self, images, condition):
        tf = _tf()
        with LayerCapture(self.layer) as capture:
            if is_style_generator(self.network):
                self._generate(self.network, images, self.style_index)
            else:
                _discriminate(self.network, images, condition)
        activation = tf.cast(capture.output, tf.float32)
        return _per_image_mean(activation[..., self.unit])


def _style_index(style, style_names, what):
    if style is None:
        return 0
    if isinstance(style, int | float) and not isinstance(style, bool):
        return int(style)
    if style_names is None:
        raise InputError(
            f"style {style!r} is a name, but {what} has no style names; pass an index, or the "
            "MultiStyleGAN wrapper."
        )
    if style not in style_names:
        raise InputError(f"Unknown style {style!r}. Valid styles: {', '.join(style_names)}.")
    return style_names.index(style)


def _require(value, what, name):
    if value is None:
        raise InputError(f"target {name!r} needs {what}.")
    return value


def build_target(
    name,
    *,
    generator=None,
    discriminator=None,
    style=None,
    mask=None,
    layer=None,
    unit=None,
    source=None,
):
    """Build the target called `name` (see `TARGETS`).

    Args:
        name: str. One of `TARGETS`.
        generator: keras.Model, a (G, F) pair, or a wrapper (GAN, Pix2Pix, CycleGAN,
            MultiStyleGAN; its networks are picked). Defaults to None.
        discriminator: keras.Model or a wrapper. Defaults to None.
        style: str or int. Style name (with a MultiStyleGAN) or index, for "style", for
            running a style generator, and for the realness targets of a multi-task D (one
            patch map per domain: the style's own map is read). Defaults to the first style.
        mask: array (H, W) or (batch, H, W). Region for "region_realness". Defaults to None.
        layer: str. Layer name ("network/layer" to choose the network) for "unit".
        unit: int. Channel of `layer` for "unit". Defaults to 0.
        source: array (batch, H, W, C). Condition images of a conditional D. Defaults to None.

    Returns:
        Target.

    Raises:
        InputError: unknown name, missing network or head, unknown layer/style; lists choices.

    Example:
        >>> target = build_target("realness", discriminator=pix2pix, source=photos)
        >>> target(pix2pix.generator(photos)).shape
        TensorShape([4])
    """
    if name not in TARGETS:
        raise InputError(f"Unknown target {name!r}. Valid targets: {', '.join(TARGETS)}.")
    tf = _tf()
    found = unwrap_models(generator=generator, discriminator=discriminator)
    generator_net, discriminator_net = found["generator"], found["discriminator"]
    style_names = found["style_names"]
    condition = {}
    if source is not None:
        condition["source"] = tf.convert_to_tensor(source, tf.float32)
    style_index = _style_index(style, style_names, "the model")
    if name in ("realness", "region_realness", "style", "realness_of_generated"):
        _require(discriminator_net, "a discriminator (discriminator=...)", name)
    conditional = is_conditional(discriminator_net)
    if name in ("realness", "region_realness") and conditional and source is None:
        raise InputError(
            f"target {name!r}: discriminator {discriminator_net.name!r} is conditional and "
            "judges [source, image]; pass source=... (the content images)."
        )
    if name in ("realness", "region_realness") and _is_multitask(discriminator_net):
        slots = int(discriminator_net.outputs[0].shape[-1])
        if not 0 <= style_index < slots:
            raise InputError(f"style index {style_index} out of range: valid 0..{slots - 1}.")
    if name == "realness":
        return RealnessTarget(discriminator_net, condition, style_index)
    if name == "region_realness":
        return RegionRealnessTarget(
            discriminator_net, _require(mask, "a mask (mask=...)", name), condition, style_index
        )
    if name == "style":
        outputs = discriminator_net.outputs or []
        if _is_multitask(discriminator_net):
            outputs = [None, outputs[0]]  # the domain maps stand for the style logits
        if len(outputs) < 2:
            raise InputError(
                f"target 'style' needs a discriminator with a style head ([adversarial, style "
                f"logits], e.g. GlobalPoolDiscriminator(num_styles=...)) or a map per style "
                f"(PatchGANDiscriminator(num_outputs=...)); "
                f"{discriminator_net.name!r} has {len(outputs)} output. Valid targets for it: "
                "realness, region_realness, unit."
            )
        slots = int(outputs[1].shape[-1])
        if not 0 <= style_index < slots:
            raise InputError(f"style index {style_index} out of range: valid 0..{slots - 1}.")
        label = style_names[style_index] if style_names else None
        return StyleTarget(discriminator_net, style_index, label)
    if name == "edit":
        return EditTarget(_require(generator_net, "a generator (generator=...)", name), style_index)
    if name == "cycle":
        _require(generator_net, "a generator (generator=...)", name)
        backward = found["backward_generator"]
        back_index = 0
        if backward is None and found["content_index"] is not None:
            backward, back_index = generator_net, found["content_index"]
        if backward is None:
            raise InputError(
                "target 'cycle' needs a CycleGAN (or a MultiStyleGAN), or generator=(G, F)."
            )
        return CycleTarget(generator_net, backward, style_index, back_index)
    if name == "realness_of_generated":
        return RealnessOfGeneratedTarget(
            _require(generator_net, "a generator (generator=...)", name),
            discriminator_net,
            style_index,
        )
    # name == "unit"
    networks = [n for n in (discriminator_net, generator_net) if n is not None]
    if not networks:
        raise InputError("target 'unit' needs a discriminator or a generator.")
    network, found_layer = find_layer(networks, _require(layer, "a layer name (layer=...)", name))
    unit = 0 if unit is None else int(unit)
    channels = found_layer.output.shape[-1] if hasattr(found_layer, "output") else None
    if channels is not None and not 0 <= unit < channels:
        raise InputError(
            f"unit {unit} out of range for layer {found_layer.name!r}: valid 0..{channels - 1}."
        )
    if network is discriminator_net and is_conditional(network) and source is None:
        raise InputError(
            f"target 'unit' on conditional discriminator {network.name!r} needs source=..."
        )
    return UnitTarget(network, found_layer, unit, condition, style_index)


def as_target(model_or_target, **kwargs):
    """A `Target` as is; a keras.Model as the mean of its (first) output; a wrapper: realness."""
    if isinstance(model_or_target, Target):
        return model_or_target
    if is_wrapper(model_or_target):
        return build_target("realness", discriminator=model_or_target, **kwargs)
    import keras

    if isinstance(model_or_target, keras.Model):
        if is_conditional(model_or_target):
            return build_target("realness", discriminator=model_or_target, **kwargs)
        return FunctionTarget(model_or_target, name=model_or_target.name)
    if callable(model_or_target):
        return FunctionTarget(model_or_target)
    raise InputError(
        f"Expected a Target, a keras.Model or a callable; received {type(model_or_target)}."
    )
