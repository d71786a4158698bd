"""Named configurations: the documents' models with their own widths and optimizer settings.

Importing this module does not import TensorFlow, so the CLI can check a preset name at once.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Preset:
    """A named model family with its training defaults.

    Args:
        name: str.
        description: str. One line for `keras-styletransfer presets`.
        generator: str. Class name in `generators`.
        discriminator: str. Class name in `discriminators`.
        generator_kwargs / discriminator_kwargs: dict. Constructor arguments.
        image_shape: tuple (H, W, C). What G makes and D takes.
        offline_data: str. "digits" or "photos64": the embedded data set.
        loss: str. Adversarial loss name.
        learning_rate / beta_1: Adam settings for both networks.
        batch_size: int. Default batch size.
        steps_per_epoch: int. Default steps per epoch (0: one pass over the data).
    """

    name: str
    description: str
    generator: str
    discriminator: str
    image_shape: tuple
    offline_data: str
    generator_kwargs: dict = dataclasses.field(default_factory=dict)
    discriminator_kwargs: dict = dataclasses.field(default_factory=dict)
    loss: str = "non_saturating"
    learning_rate: float = 2e-4
    beta_1: float = 0.5
    batch_size: int = 64
    steps_per_epoch: int = 0

    def build_models(self):
        """Return a new `(generator, discriminator)` pair."""
        from keras_styletransfer.models import discriminators, generators

        generator = getattr(generators, self.generator)(**self.generator_kwargs)
        discriminator = getattr(discriminators, self.discriminator)(**self.discriminator_kwargs)
        return generator, discriminator


PRESETS = {
    preset.name: preset
    for preset in (
        Preset(
            name="doc000_mlp",
            description="document 000: MLP GAN 100->256->512->1024->784, digits 28x28",
            generator="MLPGenerator",
            discriminator="MLPDiscriminator",
            image_shape=(28, 28, 1),
            offline_data="digits",
            # Document 000 names no optimizer; the DCGAN setting is the field's default.
            learning_rate=2e-4,
            beta_1=0.5,
            steps_per_epoch=400,
        ),
        Preset(
            name="doc001_dcgan64",
            description="document 001: DCGAN 64x64x3, offline photo crops",
            generator="DCGANGenerator",
            discriminator="DCGANDiscriminator",
            image_shape=(64, 64, 3),
            offline_data="photos64",
            # Document 001: Adam(1e-4) for each network, Keras' default beta_1.
            learning_rate=1e-4,
            beta_1=0.9,
            batch_size=32,
            steps_per_epoch=100,
        ),
        Preset(
            name="doc002_mnist",
            description="document 002: its MNIST discriminator and Adam(1e-4, 0.5), with document "
            "001's DCGAN generator design at 28x28 (trains to recognisable digits)",
            # Document 002's own generator collapses to one image on real digits under every loss
            # and remedy we measured (README, "Digit quality"), its FAQ's batch normalisation
            # included. The generator here is document 001's design (project, batch norm,
            # stride-2 transposed convolutions, tanh) sized for 28x28; the discriminator, loss and
            # optimizer are document 002's. `doc002_mnist_faithful` keeps the document's generator.
            generator="DCGANGenerator",
            discriminator="MNISTDiscriminator",
            image_shape=(28, 28, 1),
            offline_data="digits",
            generator_kwargs={
                "base_size": 7,
                "base_filters": 64,
                "upsampling_filters": (32, 16),
                "channels": 1,
            },
            # Document 002: Adam(0.0001, 0.5).
            learning_rate=1e-4,
            beta_1=0.5,
            steps_per_epoch=400,
        ),
        Preset(
            name="doc002_mnist_faithful",
            description="document 002 exactly: Dense 128 -> 784 -> transposed conv generator "
            "(collapses to one image; kept for comparison)",
            generator="MNISTGenerator",
            discriminator="MNISTDiscriminator",
            image_shape=(28, 28, 1),
            offline_data="digits",
            learning_rate=1e-4,
            beta_1=0.5,
            steps_per_epoch=400,
        ),
    )
}


def get_preset(name):
    """Return the preset called `name`, or raise a ValueError that lists the valid names."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of: {', '.join(sorted(PRESETS))}.")
    return PRESETS[name]
