"""The base of every generator and discriminator: a Keras subclass built on a functional graph.

A subclass builds its graph in `__init__`, calls `super().__init__(inputs=..., outputs=...)`, then
records its constructor arguments with `_remember_config`. The result is a "subclassed model" that
users recognise, whose layer outputs stay reachable (`model.get_layer(name).output`), and whose
`get_config()` returns exactly the constructor arguments.
"""

from __future__ import annotations

import keras


def as_tuple(values, name):
    """Turn a sequence of ints (JSON gives lists back) into a tuple, or explain what is wrong."""
    if isinstance(values, int):
        values = (values,)
    try:
        result = tuple(int(v) for v in values)
    except (TypeError, ValueError) as error:
        raise TypeError(f"`{name}` must be a sequence of ints; received {values!r}.") from error
    if any(v <= 0 for v in result):
        raise ValueError(f"Every entry of `{name}` must be positive; received {values!r}.")
    return result


def check_dropout(dropout):
    """A dropout rate as a float in [0, 1), or a clear ValueError."""
    if isinstance(dropout, bool) or not isinstance(dropout, int | float):
        raise ValueError(f"`dropout` must be a number in [0, 1); received {dropout!r}.")
    if not 0.0 <= float(dropout) < 1.0:
        raise ValueError(f"`dropout` must be in [0, 1); received {dropout!r}.")
    return float(dropout)


class GraphModel(keras.Model):
    """A `keras.Model` subclass whose graph is functional; see the module docstring."""

    def _remember_config(self, **arguments):
        # Stored as a plain dict copy so that Keras' attribute tracking never sees the values.
        object.__setattr__(self, "_constructor_arguments", dict(arguments))

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            **self._constructor_arguments,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def blend_by_strength(images, styled, strength):
    """The style generators' output: `images + strength * (styled - images)` as the layers
    "change", "strength_map", "scaled_change" and "to_image". Strength 0 returns the input
    exactly, 1 is exactly `styled`; the output is smooth in strength and stays in [-1, 1] for
    strengths in [0, 1]."""
    layers = keras.layers
    change = layers.Subtract(name="change")([styled, images])
    scaled = layers.Multiply(name="scaled_change")(
        [change, layers.Reshape((1, 1, 1), name="strength_map")(strength)]
    )
    return layers.Add(name="to_image")([images, scaled])


class StyleSlots:
    """For generators taking `{"image", "style", "strength"}`: their number of style slots."""

    @property
    def style_count(self):
        """Number of style slots (the length of the `style` input)."""
        return self._constructor_arguments["num_styles"]


def named_input(model, name, fallback_index):
    """The input tensor of `model` called `name` (dict inputs are not kept in call order)."""
    inputs = list(getattr(model, "inputs", None) or [])
    for tensor in inputs:
        if getattr(tensor, "name", "").split(":")[0] == name:
            return tensor
    return inputs[fallback_index]
