"""Layers of the image-to-image networks: instance norm, reflection padding, residual blocks and
style-conditioned normalisation."""

from __future__ import annotations

import keras
import tensorflow as tf

_PACKAGE = "keras_styletransfer"


def instance_norm(name=None):
    """Instance normalisation with a learned scale and offset per channel.

    Keras 3 has no InstanceNormalization layer and tensorflow_addons is dead; a GroupNormalization
    with one group per channel is the same operation.
    """
    return keras.layers.GroupNormalization(groups=-1, epsilon=1e-5, name=name)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ReflectionPadding2D(keras.layers.Layer):
    """Pad height and width by mirroring the border pixels (no zero frame for the next conv).

    Args:
        padding: int. Pixels added on every side.
    """

    def __init__(self, padding=1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
            raise ValueError(f"padding must be an integer >= 0; received {padding!r}.")
        self.padding = padding

    def call(self, inputs):
        p = self.padding
        return tf.pad(inputs, [[0, 0], [p, p], [p, p], [0, 0]], mode="REFLECT")

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        grow = 2 * self.padding
        return (
            batch,
            None if height is None else height + grow,
            None if width is None else width + grow,
            channels,
        )

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class StyleConditionedNormalization(keras.layers.Layer):
    """Conditional instance normalisation: gamma and beta picked (or mixed) by style weights.

    Called on `[features, condition]`, `condition` being `(batch, num_styles)` weights: a one-hot
    vector selects one style, a convex mix blends styles, zeros give the unstyled path. Features
    are instance-normalised, then scaled by `1 + condition @ gamma_table` and shifted by
    `condition @ beta_table`. Both tables start at zero, so an untrained layer is plain instance
    norm.

    Args:
        num_styles: int. Number of style slots.
        epsilon: float. Defaults to 1e-5.

    References:
        Dumoulin et al., "A Learned Representation for Artistic Style", 2017.
    """

    def __init__(self, num_styles, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        if isinstance(num_styles, bool) or not isinstance(num_styles, int) or num_styles < 1:
            raise ValueError(f"num_styles must be a positive integer; received {num_styles!r}.")
        self.num_styles = num_styles
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        channels = int(input_shape[0][-1])
        self.gamma_table = self.add_weight(
            shape=(self.num_styles, channels), initializer="zeros", name="gamma_table"
        )
        self.beta_table = self.add_weight(
            shape=(self.num_styles, channels), initializer="zeros", name="beta_table"
        )

    def call(self, inputs):
        features, condition = inputs
        mean, variance = tf.nn.moments(features, axes=[1, 2], keepdims=True)
        normalised = (features - mean) * tf.math.rsqrt(variance + self.epsilon)
        condition = tf.cast(condition, features.dtype)
        gamma = 1.0 + tf.matmul(condition, self.gamma_table)
        beta = tf.matmul(condition, self.beta_table)
        return normalised * gamma[:, None, None, :] + beta[:, None, None, :]

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "num_styles": self.num_styles, "epsilon": self.epsilon}


def residual_block(x, filters, name, condition=None, num_styles=None):
    """CycleGAN's residual block: pad, conv 3x3, norm, ReLU, pad, conv 3x3, norm, add.

    With `condition`, the norms are `StyleConditionedNormalization` over `num_styles` slots.
    """

    def norm(y, suffix):
        if condition is None:
            return instance_norm(f"{name}_norm{suffix}")(y)
        return StyleConditionedNormalization(num_styles, name=f"{name}_norm{suffix}")(
            [y, condition]
        )

    shortcut = x
    y = ReflectionPadding2D(1, name=f"{name}_pad1")(x)
    y = keras.layers.Conv2D(filters, 3, use_bias=False, name=f"{name}_conv1")(y)
    y = keras.layers.ReLU(name=f"{name}_relu")(norm(y, 1))
    y = ReflectionPadding2D(1, name=f"{name}_pad2")(y)
    y = keras.layers.Conv2D(filters, 3, use_bias=False, name=f"{name}_conv2")(y)
    return keras.layers.Add(name=f"{name}_add")([shortcut, norm(y, 2)])
