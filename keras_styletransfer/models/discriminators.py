"""Discriminators from the source documents.

Every discriminator here outputs *logits*. The documents end with `Dense(1, activation="sigmoid")`
and document 001 then feeds those probabilities to `BinaryCrossentropy(from_logits=True)`, which
applies a second sigmoid (its loss can never go below log(1 + e^-1) and its gradients shrink).
The losses in `keras_styletransfer.losses` take logits, so the sigmoid lives there, once; apply
`keras.ops.sigmoid` to a discriminator's output for a probability.
"""

from __future__ import annotations

import math

import keras
from keras import layers

from keras_styletransfer.models.base import GraphModel, as_tuple

_PACKAGE = "keras_styletransfer"


@keras.saving.register_keras_serializable(package=_PACKAGE)
class MLPDiscriminator(GraphModel):
    """Document 000's fully connected discriminator: 784 -> 1024 -> 512 -> 256 -> 1 logit.

    It takes images (28x28x1 by default) and flattens them to the document's 784-vector.

    Args:
        image_shape: tuple of int. Input (height, width, channels). Defaults to (28, 28, 1).
        hidden_units: tuple of int. Widths of the ReLU layers. Defaults to (1024, 512, 256).
        name: str. Defaults to "mlp_discriminator".
    """

    def __init__(
        self,
        image_shape=(28, 28, 1),
        hidden_units=(1024, 512, 256),
        name="mlp_discriminator",
        **kwargs,
    ):
        image_shape = as_tuple(image_shape, "image_shape")
        hidden_units = as_tuple(hidden_units, "hidden_units")
        images = keras.Input(shape=image_shape, name="images")
        x = layers.Reshape((math.prod(image_shape),), name="flatten")(images)
        for index, units in enumerate(hidden_units, start=1):
            x = layers.Dense(units, activation="relu", name=f"dense{index}")(x)
        logits = layers.Dense(1, name="logit")(x)
        super().__init__(inputs=images, outputs=logits, name=name, **kwargs)
        self.image_shape = image_shape
        self._remember_config(image_shape=image_shape, hidden_units=hidden_units)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class DCGANDiscriminator(GraphModel):
    """Document 001's convolutional discriminator for 64x64x3 images, completed.

    Conv2D(64, 5x5, stride 2, same) -> LeakyReLU as in the document, then the omitted middle:
    one more stride-2 Conv2D -> LeakyReLU -> Dropout per entry of `filters`; then Flatten ->
    Dense(1) logit.

    Args:
        image_shape: tuple of int. Defaults to (64, 64, 3).
        filters: tuple of int. Channels of the stride-2 convolutions. Defaults to (64, 128, 256).
        dropout: float. Dropout rate after each block but the first. Defaults to 0.3.
        name: str. Defaults to "dcgan_discriminator".
    """

    def __init__(
        self,
        image_shape=(64, 64, 3),
        filters=(64, 128, 256),
        dropout=0.3,
        name="dcgan_discriminator",
        **kwargs,
    ):
        image_shape = as_tuple(image_shape, "image_shape")
        filters = as_tuple(filters, "filters")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"`dropout` must be in [0, 1); received {dropout!r}.")
        images = keras.Input(shape=image_shape, name="images")
        x = images
        for index, width in enumerate(filters, start=1):
            x = layers.Conv2D(width, 5, strides=2, padding="same", name=f"conv{index}")(x)
            x = layers.LeakyReLU(name=f"conv{index}_lrelu")(x)
            if index > 1 and dropout:
                x = layers.Dropout(dropout, name=f"conv{index}_dropout")(x)
        x = layers.Flatten(name="flatten")(x)
        logits = layers.Dense(1, name="logit")(x)
        super().__init__(inputs=images, outputs=logits, name=name, **kwargs)
        self.image_shape = image_shape
        self._remember_config(image_shape=image_shape, filters=filters, dropout=float(dropout))


@keras.saving.register_keras_serializable(package=_PACKAGE)
class MNISTDiscriminator(GraphModel):
    """Document 002's MNIST discriminator, outputting a logit.

    Conv2D(64, 3, stride 2) -> LeakyReLU(0.2) -> Dropout(0.3) -> Conv2D(128, 3, stride 2) ->
    LeakyReLU(0.2) -> Dropout(0.3) -> Flatten -> Dense(1).

    Args:
        image_shape: tuple of int. Defaults to (28, 28, 1).
        filters: tuple of int. Defaults to (64, 128).
        dropout: float. Defaults to 0.3.
        name: str. Defaults to "mnist_discriminator".
    """

    def __init__(
        self,
        image_shape=(28, 28, 1),
        filters=(64, 128),
        dropout=0.3,
        name="mnist_discriminator",
        **kwargs,
    ):
        image_shape = as_tuple(image_shape, "image_shape")
        filters = as_tuple(filters, "filters")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"`dropout` must be in [0, 1); received {dropout!r}.")
        images = keras.Input(shape=image_shape, name="images")
        x = images
        for index, width in enumerate(filters, start=1):
            x = layers.Conv2D(width, 3, strides=2, padding="same", name=f"conv{index}")(x)
            x = layers.LeakyReLU(negative_slope=0.2, name=f"conv{index}_lrelu")(x)
            x = layers.Dropout(dropout, name=f"conv{index}_dropout")(x)
        x = layers.Flatten(name="flatten")(x)
        logits = layers.Dense(1, name="logit")(x)
        super().__init__(inputs=images, outputs=logits, name=name, **kwargs)
        self.image_shape = image_shape
        self._remember_config(image_shape=image_shape, filters=filters, dropout=float(dropout))
