"""Generators from the source documents, faithful in their layer stacks and correct in their shapes.

All generators output images in [-1, 1], the range that `keras_styletransfer.data` scales real
images to, so a generator's output can be fed to its discriminator without conversion.
"""

from __future__ import annotations

import math

import keras
from keras import layers

from keras_styletransfer.models.base import GraphModel, as_tuple, check_positive_int

_PACKAGE = "keras_styletransfer"


@keras.saving.register_keras_serializable(package=_PACKAGE)
class MLPGenerator(GraphModel):
    """Document 000's fully connected generator: z (100) -> 256 -> 512 -> 1024 -> 784 -> 28x28x1.

    The document's last layer is `Dense(784, activation="sigmoid")`, whose output lies in [0, 1];
    its `visualize_generator` then rescaled that as if it were tanh output. Here the sigmoid is kept
    and followed by an explicit affine map 2 * y - 1, so the generator's images are in [-1, 1] like
    the real data, and the 784-vector is reshaped to an image (the document plotted flat vectors).

    Args:
        latent_dim: int. Size of the noise vector z. Defaults to 100.
        hidden_units: tuple of int. Widths of the ReLU layers. Defaults to (256, 512, 1024).
        image_shape: tuple of int. (height, width, channels) of the output. Defaults to (28, 28, 1).
        name: str. Defaults to "mlp_generator".

    Example:
        >>> generator = MLPGenerator()
        >>> generator(keras.random.normal((4, 100))).shape
        TensorShape([4, 28, 28, 1])
    """

    def __init__(
        self,
        latent_dim=100,
        hidden_units=(256, 512, 1024),
        image_shape=(28, 28, 1),
        name="mlp_generator",
        **kwargs,
    ):
        latent_dim = check_positive_int(latent_dim, "latent_dim")
        hidden_units = as_tuple(hidden_units, "hidden_units")
        image_shape = as_tuple(image_shape, "image_shape")
        noise = keras.Input(shape=(latent_dim,), name="noise")
        x = noise
        for index, units in enumerate(hidden_units, start=1):
            x = layers.Dense(units, activation="relu", name=f"dense{index}")(x)
        x = layers.Dense(math.prod(image_shape), activation="sigmoid", name="dense_out")(x)
        x = layers.Rescaling(2.0, offset=-1.0, name="to_tanh_range")(x)
        images = layers.Reshape(image_shape, name="to_image")(x)
        super().__init__(inputs=noise, outputs=images, name=name, **kwargs)
        self.latent_dim = latent_dim
        self.image_shape = image_shape
        self._remember_config(
            latent_dim=latent_dim, hidden_units=hidden_units, image_shape=image_shape
        )


@keras.saving.register_keras_serializable(package=_PACKAGE)
class DCGANGenerator(GraphModel):
    """Document 001's DCGAN generator, with the upsampling layers the document left out.

    Dense(8*8*256, no bias) -> BatchNorm -> LeakyReLU -> Reshape(8, 8, 256), then one block per
    entry of `upsampling_filters`: Conv2DTranspose(f, 5, stride 2, no bias) -> BatchNorm ->
    LeakyReLU, doubling the size each time (8 -> 16 -> 32 -> 64), then the document's
    Conv2D(3, 3x3, same, tanh).

    Args:
        latent_dim: int. Size of z. Defaults to 100.
        base_size: int. Side of the first feature map. Defaults to 8.
        base_filters: int. Channels of the first feature map. Defaults to 256.
        upsampling_filters: tuple of int. Channels of each stride-2 block.
            Defaults to (128, 64, 32).
        channels: int. Output channels. Defaults to 3.
        name: str. Defaults to "dcgan_generator".
    """

    def __init__(
        self,
        latent_dim=100,
        base_size=8,
        base_filters=256,
        upsampling_filters=(128, 64, 32),
        channels=3,
        name="dcgan_generator",
        **kwargs,
    ):
        latent_dim = check_positive_int(latent_dim, "latent_dim")
        base_size = check_positive_int(base_size, "base_size")
        base_filters = check_positive_int(base_filters, "base_filters")
        upsampling_filters = as_tuple(upsampling_filters, "upsampling_filters")
        channels = check_positive_int(channels, "channels")
        noise = keras.Input(shape=(latent_dim,), name="noise")
        x = layers.Dense(base_size * base_size * base_filters, use_bias=False, name="project")(
            noise
        )
        x = layers.BatchNormalization(name="project_bn")(x)
        x = layers.LeakyReLU(name="project_lrelu")(x)
        x = layers.Reshape((base_size, base_size, base_filters), name="to_feature_map")(x)
        for index, filters in enumerate(upsampling_filters, start=1):
            x = layers.Conv2DTranspose(
                filters, 5, strides=2, padding="same", use_bias=False, name=f"up{index}"
            )(x)
            x = layers.BatchNormalization(name=f"up{index}_bn")(x)
            x = layers.LeakyReLU(name=f"up{index}_lrelu")(x)
        images = layers.Conv2D(channels, 3, padding="same", activation="tanh", name="to_rgb")(x)
        super().__init__(inputs=noise, outputs=images, name=name, **kwargs)
        size = base_size * 2 ** len(upsampling_filters)
        self.latent_dim = latent_dim
        self.image_shape = (size, size, channels)
        self._remember_config(
            latent_dim=latent_dim,
            base_size=base_size,
            base_filters=base_filters,
            upsampling_filters=upsampling_filters,
            channels=channels,
        )


@keras.saving.register_keras_serializable(package=_PACKAGE)
class MNISTGenerator(GraphModel):
    """Document 002's MNIST generator, with its 56x56-versus-28x28 mismatch fixed.

    The document: Dense(128, relu) -> Dense(784, relu) -> LeakyReLU(0.2) -> Reshape(28, 28, 1) ->
    Conv2DTranspose(1, 5, stride 2, same, tanh), which makes 56x56 images for a 28x28
    discriminator. Here the same 784 units are reshaped to (14, 14, 4), so the same stride-2
    transpose convolution yields 28x28x1. Every layer, width and activation is otherwise the
    document's (the LeakyReLU after a ReLU is an identity on its non-negative input; it is kept for
    fidelity and costs nothing).

    `batch_norm=True` puts BatchNormalization between each Dense layer and its ReLU, the remedy
    document 002 itself gives for unstable training (its FAQ 9.1: "use batch normalisation in the
    generator and discriminator"). Without it this generator collapses to a single image on the
    offline digits under every loss we tried, and with it D still wins outright (measured figures
    in the README). The `doc002_mnist_faithful` preset uses this generator as the document wrote
    it; `doc002_mnist` uses document 001's DCGAN design instead.

    Args:
        latent_dim: int. Size of z. Defaults to 100.
        hidden_units: int. Width of the first Dense layer. Defaults to 128.
        image_size: int. Side of the square output; must be even. Defaults to 28.
        channels: int. Output channels. Defaults to 1.
        batch_norm: bool. Normalise the Dense layers' outputs. Defaults to False (the
            document's code).
        name: str. Defaults to "mnist_generator".
    """

    def __init__(
        self,
        latent_dim=100,
        hidden_units=128,
        image_size=28,
        channels=1,
        batch_norm=False,
        name="mnist_generator",
        **kwargs,
    ):
        latent_dim = check_positive_int(latent_dim, "latent_dim")
        hidden_units = check_positive_int(hidden_units, "hidden_units")
        image_size = check_positive_int(image_size, "image_size")
        channels = check_positive_int(channels, "channels")
        if image_size % 2:
            raise ValueError(
                "`image_size` must be even (a stride-2 layer doubles the side); "
                f"received {image_size}."
            )
        half = image_size // 2
        # Same number of units as the document's Dense(28*28*1), spread over (14, 14, 4).
        units = image_size * image_size * channels
        depth = units // (half * half)
        noise = keras.Input(shape=(latent_dim,), name="noise")
        x = noise
        for index, width in enumerate((hidden_units, units), start=1):
            if batch_norm:
                x = layers.Dense(width, use_bias=False, name=f"dense{index}")(x)
                x = layers.BatchNormalization(name=f"dense{index}_bn")(x)
                x = layers.ReLU(name=f"dense{index}_relu")(x)
            else:
                x = layers.Dense(width, activation="relu", name=f"dense{index}")(x)
        x = layers.LeakyReLU(negative_slope=0.2, name="lrelu")(x)
        x = layers.Reshape((half, half, depth), name="to_feature_map")(x)
        images = layers.Conv2DTranspose(
            channels, 5, strides=2, padding="same", activation="tanh", name="up"
        )(x)
        super().__init__(inputs=noise, outputs=images, name=name, **kwargs)
        self.latent_dim = latent_dim
        self.image_shape = (image_size, image_size, channels)
        self._remember_config(
            latent_dim=latent_dim,
            hidden_units=hidden_units,
            image_size=image_size,
            channels=channels,
            batch_norm=bool(batch_norm),
        )
