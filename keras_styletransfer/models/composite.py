"""Fusing trained generators: interpolation, output mixtures and style blends.

Several GANs fused into one, "for diversity and robustness". Three ways, each
giving an ordinary Keras model (image in, image out) that saves as `.keras`, reloads, and exports
like any other generator (`model.export(path)`):

- `interpolate(generator_a, generator_b, alpha)`: network interpolation (Wang et al., 2019): a new
  generator of the same architecture whose every weight is (1 - alpha) * A + alpha * B. Useful
  between models fine-tuned from one another (`training.fine_tune`), whose weights stay close;
  two models trained from different random starts do not interpolate meaningfully.
- `MixtureGenerator(generators, weights)`: the weighted average of the generators' outputs; or,
  with a discriminator and `mode="choose"`, per image the output that the discriminator judges
  most real (the highest mean logit).
- `style_blend(weights, style_names)` / `StyleBlendGenerator`: a multi-style generator
  (`StyleGenerator`) with a fixed, validated mix of styles and strength, as an image -> image model.
"""

from __future__ import annotations

import math

import keras
import numpy as np

from keras_styletransfer.errors import InputError
from keras_styletransfer.validation import check_number, check_strength, style_weights

_PACKAGE = "keras_styletransfer"
MIXTURE_MODES = ("average", "choose")


# --- checks ---------------------------------------------------------------------------------------


def _first_difference(a, b, path=""):
    """The first place where two nested configs differ, as `path: a vs b`, or None."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            if key not in a or key not in b:
                return f"{path}{key}: {a.get(key, '<missing>')!r} vs {b.get(key, '<missing>')!r}"
            found = _first_difference(a[key], b[key], f"{path}{key}.")
            if found:
                return found
        return None
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) != len(b):
            return f"{path.rstrip('.')}: length {len(a)} vs {len(b)}"
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            found = _first_difference(x, y, f"{path}{index}.")
            if found:
                return found
        return None
    return None if a == b else f"{path.rstrip('.')}: {a!r} vs {b!r}"


def _architecture(model):
    config = dict(model.get_config())
    config.pop("name", None)
    config.pop("trainable", None)
    return config


def check_same_architecture(generator_a, generator_b):
    """Raise `InputError` naming the first difference unless both have one architecture.

    Compared: the class, the constructor configuration (names aside), then every weight's shape.
    """
    for model, label in ((generator_a, "generator_a"), (generator_b, "generator_b")):
        if not isinstance(model, keras.Model):
            raise InputError(f"{label} must be a keras.Model; received {type(model).__name__}.")
    kind_a, kind_b = type(generator_a).__name__, type(generator_b).__name__
    if kind_a != kind_b:
        raise InputError(
            f"cannot fuse a {kind_a} with a {kind_b}: interpolation needs one architecture "
            "(first difference: class)."
        )
    difference = _first_difference(_architecture(generator_a), _architecture(generator_b))
    if difference is None:
        weights_a, weights_b = generator_a.weights, generator_b.weights
        if len(weights_a) != len(weights_b):
            difference = f"number of weights: {len(weights_a)} vs {len(weights_b)}"
        for wa, wb in zip(weights_a, weights_b, strict=False):
            if difference is None and tuple(wa.shape) != tuple(wb.shape):
                difference = f"weight {wa.path}: shape {tuple(wa.shape)} vs {tuple(wb.shape)}"
    if difference is not None:
        raise InputError(
            f"cannot fuse {generator_a.name!r} and {generator_b.name!r}: their {kind_a} "
            f"architectures differ (first difference: {difference}). Fuse generators built "
            "with the same settings, e.g. one fine-tuned from the other."
        )


def check_mixture_weights(weights, count, tolerance=1e-6):
    """Mixture weights as a list of floats: `count` of them, finite, >= 0, summing to 1.

    Args:
        weights: sequence of numbers, or None for equal weights.
        count: int. Number of generators.
        tolerance: float. Allowed |sum - 1|. Defaults to 1e-6.

    Returns:
        list of float.
    """
    if weights is None:
        return [1.0 / count] * count
    try:
        values = [float(w) for w in weights]
    except (TypeError, ValueError):
        raise InputError(f"weights must be numbers; received {weights!r}.") from None
    if len(values) != count:
        raise InputError(
            f"give one weight per generator: {count} generators, {len(values)} weights."
        )
    if not all(math.isfinite(v) and v >= 0 for v in values):
        raise InputError(f"weights must be finite and >= 0; received {values}.")
    if abs(sum(values) - 1.0) > tolerance:
        raise InputError(
            f"weights must sum to 1; received {values} (sum {sum(values):.6g}). "
            "Divide them by their sum."
        )
    return values


def _check_alpha(alpha):
    return check_number(alpha, "alpha (0 gives A, 1 gives B)", low=0.0, high=1.0)


# --- interpolation --------------------------------------------------------------------------------


def copy_model(model, name=None):
    """A new model of the same class and configuration (optionally renamed), same weights."""
    serialized = keras.saving.serialize_keras_object(model)
    if name is not None:
        serialized = {**serialized, "config": {**serialized["config"], "name": name}}
    copy = keras.saving.deserialize_keras_object(serialized)
    copy.set_weights(model.get_weights())
    return copy


def interpolate(generator_a, generator_b, alpha, name=None):
    """Network interpolation: a generator with weights (1 - alpha) * A + alpha * B.

    Every floating-point weight (kernels, biases, normalisation scales and moving statistics) is
    interpolated in float64 and stored in its own dtype, so alpha 0 and 1 give A's and B's weights
    exactly; other weights (integer counters) are A's.

    Args:
        generator_a: keras.Model.
        generator_b: keras.Model. Same class and configuration as A.
        alpha: float in [0, 1].
        name: str. Name of the new generator. Defaults to A's name.

    Returns:
        A new generator of A's class.

    Raises:
        InputError: when the architectures differ (the message names the first difference), or
            alpha is outside [0, 1].

    Example:
        >>> halfway = interpolate(pencil_generator, watercolour_generator, 0.5)

    References:
        Wang et al., "Deep Network Interpolation for Continuous Imagery Effect Transition", 2019.
    """
    alpha = _check_alpha(alpha)
    check_same_architecture(generator_a, generator_b)
    fused = copy_model(generator_a, name=name)
    values = []
    for weight_a, weight_b in zip(
        generator_a.get_weights(), generator_b.get_weights(), strict=True
    ):
        if np.issubdtype(weight_a.dtype, np.floating):
            mixed = (1.0 - alpha) * weight_a.astype(np.float64) + alpha * weight_b.astype(
                np.float64
            )
            values.append(mixed.astype(weight_a.dtype))
        else:
            values.append(weight_a)
    fused.set_weights(values)
    return fused


# --- mixtures -------------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package=_PACKAGE)
class WeightedAverage(keras.layers.Layer):
    """sum_i weights[i] * inputs[i] over a list of same-shaped tensors.

    Args:
        mixture_weights: list of float. One per input.
    """

    def __init__(self, mixture_weights, **kwargs):
        super().__init__(**kwargs)
        self.mixture_weights = [float(w) for w in mixture_weights]

    def call(self, inputs):
        total = None
        for weight, tensor in zip(self.mixture_weights, inputs, strict=True):
            term = tensor * keras.ops.cast(weight, tensor.dtype)
            total = term if total is None else total + term
        return total

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "mixture_weights": list(self.mixture_weights)}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ChooseMostReal(keras.layers.Layer):
    """Per example, the candidate whose discriminator logits have the highest mean.

    Inputs: a list of n candidate batches followed by their n logit batches (any shape after
    the batch axis: one logit or a patch map). Output: one batch of the candidates' shape.
    """

    def call(self, inputs):
        count = len(inputs) // 2
        candidates, logits = inputs[:count], inputs[count:]
        scores = keras.ops.stack(
            [
                keras.ops.mean(keras.ops.reshape(x, (keras.ops.shape(x)[0], -1)), axis=1)
                for x in logits
            ],
            axis=1,
        )
        choice = keras.ops.one_hot(keras.ops.argmax(scores, axis=1), count)
        chosen = None
        for index, candidate in enumerate(candidates):
            mask = keras.ops.cast(choice[:, index], candidate.dtype)
            mask = keras.ops.reshape(mask, (-1,) + (1,) * (len(candidate.shape) - 1))
            term = candidate * mask  # exactly the candidate or exactly 0
            chosen = term if chosen is None else chosen + term
        return chosen

    def compute_output_shape(self, input_shape):
        return input_shape[0]


def _single_input(model, what):
    if not isinstance(model, keras.Model):
        raise InputError(f"{what} must be a keras.Model; received {type(model).__name__}.")
    if len(model.inputs or []) != 1:
        raise InputError(
            f"{what} {model.name!r} takes {len(model.inputs or [])} inputs; a mixture takes "
            "image -> image generators. For a multi-style generator, fix its style first with "
            "StyleBlendGenerator (fuse --mode blend)."
        )
    return model


def _member(model, name, used):
    """`model` itself when it already has `name` and is not used twice, else a renamed copy."""
    if model.name == name and id(model) not in used:
        used.add(id(model))
        return model
    return copy_model(model, name=name)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class MixtureGenerator(keras.Model):
    """Several generators as one: the weighted average of their outputs, or a per-image choice.

    Input: what the generators take (`image`, (batch, H, W, C) in [-1, 1] for image-to-image
    generators). Output: one image batch.

    - `mode="average"`: sum_i weights[i] * G_i(x); weights >= 0 summing to 1 (equal by default).
    - `mode="choose"`: per image, the G_i(x) whose discriminator logits have the highest mean
      (the one D judges most real); a conditional discriminator (two inputs) judges
      `[x, G_i(x)]`, a discriminator with several outputs is judged by its first.

    The members are stored as `member_0`, `member_1`, ... (copies when renaming is needed, so the
    caller's models are never changed) and the discriminator as `judge`; the model saves and
    loads as `.keras` and exports like any generator.

    Args:
        generators: list of keras.Model. Image -> image generators with one input.
        mixture_weights: list of float. One per generator, for "average". Defaults to equal.
        discriminator: keras.Model. Required for "choose". Defaults to None.
        mode: str. "average" or "choose". Defaults to "average".
        name: str. Defaults to "mixture_generator".

    Example:
        >>> mixture = MixtureGenerator([pencil, watercolour], mixture_weights=[0.3, 0.7])
        >>> mixture.save("mixture.keras")
    """

    def __init__(
        self,
        generators,
        mixture_weights=None,
        discriminator=None,
        mode="average",
        name="mixture_generator",
        **kwargs,
    ):
        if mode not in MIXTURE_MODES:
            raise InputError(f"unknown mixture mode {mode!r}; choose one of {MIXTURE_MODES}.")
        generators = list(generators or [])
        if not generators:
            raise InputError("a mixture needs at least one generator.")
        for index, generator in enumerate(generators):
            _single_input(generator, f"generator {index}")
        shapes = {tuple(g.inputs[0].shape[1:]) for g in generators}
        if len(shapes) != 1:
            raise InputError(f"the generators take different input shapes: {sorted(shapes)}.")
        if mode == "average":
            mixture_weights = check_mixture_weights(mixture_weights, len(generators))
        elif discriminator is None:
            raise InputError(
                "mode 'choose' needs a discriminator to judge the outputs; pass one "
                "(fuse --discriminator D.keras, or a model file that holds one)."
            )
        used = set()
        members = [_member(g, f"member_{i}", used) for i, g in enumerate(generators)]
        images = keras.Input(shape=generators[0].inputs[0].shape[1:], name="image")
        outputs = [member(images) for member in members]
        judge = None
        if mode == "average":
            fused = WeightedAverage(mixture_weights, name="average")(outputs)
        else:
            judge = _member(discriminator, "judge", used)
            logits = []
            for output in outputs:
                verdict = judge([images, output]) if len(judge.inputs) == 2 else judge(output)
                logits.append(verdict[0] if isinstance(verdict, list | tuple) else verdict)
            fused = ChooseMostReal(name="choose")([*outputs, *logits])
        super().__init__(inputs=images, outputs=fused, name=name, **kwargs)
        self.members = members
        self.judge = judge
        self.mode = mode
        self.mixture_weights = mixture_weights if mode == "average" else None
        multiples = [getattr(g, "size_multiple", 1) for g in members]
        self.size_multiple = math.lcm(*multiples)

    def get_config(self):
        return {
            "name": self.name,
            "generators": [keras.saving.serialize_keras_object(m) for m in self.members],
            "mixture_weights": self.mixture_weights,
            "discriminator": (
                keras.saving.serialize_keras_object(self.judge) if self.judge is not None else None
            ),
            "mode": self.mode,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generators"] = [
            keras.saving.deserialize_keras_object(g) for g in config["generators"]
        ]
        if config.get("discriminator") is not None:
            config["discriminator"] = keras.saving.deserialize_keras_object(config["discriminator"])
        return cls(**config)


# --- style blends ---------------------------------------------------------------------------------


def style_blend(weights, style_names):
    """The `style` input of a `StyleGenerator` for a mix of styles.

    The one style rule of the package (`validation.style_weights`), so `fuse --weights a=1,b=1`
    is accepted exactly like `stylize --blend a=1,b=1`: weights finite and >= 0 with a positive
    sum, normalised to sum to 1.

    Args:
        weights: dict {style name or index: weight}, a sequence of weights in `style_names`
            order, or one style name or index.
        style_names: list of str. The generator's style slots in order (a MultiStyleGAN's
            `domain_names`).

    Returns:
        float32 array `(len(style_names),)`: non-negative, summing to 1.

    Raises:
        InputError: for an unknown name, a negative or non-finite weight, weights that are all
            0, or a sequence of the wrong length.

    Example:
        >>> style_blend({"pencil": 0.3, "cartoon": 0.7}, ["pencil", "cartoon", "photo"])
        array([0.3, 0.7, 0. ], dtype=float32)
    """
    return style_weights(weights, style_names)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ConstantRows(keras.layers.Layer):
    """A constant vector repeated once per example of the input batch: (batch, len(values))."""

    def __init__(self, values, **kwargs):
        super().__init__(**kwargs)
        self.values = [float(v) for v in values]

    def call(self, inputs):
        row = keras.ops.convert_to_tensor([self.values], dtype=self.compute_dtype)
        return keras.ops.repeat(row, keras.ops.shape(inputs)[0], axis=0)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], len(self.values))

    def get_config(self):
        return {**super().get_config(), "values": list(self.values)}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class StyleBlendGenerator(keras.Model):
    """A multi-style generator with its style mix and strength fixed: image in, image out.

    Args:
        generator: keras.Model taking `[image, style, strength]` (a `StyleGenerator`).
        style_weights: dict {name: weight} or sequence; validated by `style_blend`.
        style_names: list of str. The generator's style slots, in order.
        strength: float in [0, 1]. Defaults to 1.
        name: str. Defaults to "style_blend_generator".

    Example:
        >>> blended = StyleBlendGenerator(model.generator, {"pencil": .5, "cartoon": .5},
        ...                               model.domain_names)
    """

    def __init__(
        self,
        generator,
        style_weights,
        style_names,
        strength=1.0,
        name="style_blend_generator",
        **kwargs,
    ):
        if not isinstance(generator, keras.Model) or len(generator.inputs or []) != 3:
            raise InputError(
                "StyleBlendGenerator takes a multi-style generator with inputs [image, style, "
                f"strength]; received {getattr(generator, 'name', generator)!r}."
            )
        vector = style_blend(style_weights, style_names)
        strength = check_strength(strength)
        inner = generator if generator.name == "styled_generator" else None
        inner = inner or copy_model(generator, name="styled_generator")
        images = keras.Input(shape=inner.inputs[0].shape[1:], name="image")
        style = ConstantRows(vector.tolist(), name="style")(images)
        level = ConstantRows([strength], name="strength")(images)
        outputs = inner([images, style, level])
        super().__init__(inputs=images, outputs=outputs, name=name, **kwargs)
        self.generator = inner
        self.style_weights = dict(zip(style_names, vector.tolist(), strict=True))
        self.style_names = list(style_names)
        self.strength = strength
        self.size_multiple = getattr(inner, "size_multiple", 1)

    def get_config(self):
        return {
            "name": self.name,
            "generator": keras.saving.serialize_keras_object(self.generator),
            "style_weights": self.style_weights,
            "style_names": self.style_names,
            "strength": self.strength,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        return cls(**config)
