"""The source documents' DCGAN training loop, for timing beside our `fit` step (benchmark only).

The documents train a DCGAN the way classic Keras examples do, one batch at a time from Python:
noise from NumPy, `generator.predict(noise)`, `discriminator.train_on_batch` on the real images
(label 1) and on the fakes (label 0), then `combined.train_on_batch(noise, 1)` on the generator
stacked on a frozen discriminator. Here the loop is reproduced with the same networks and
optimizer settings as our `dcgan64` preset, so only the loop differs. Under Keras 3 the
discriminator's `trainable` flag must be switched around its own update (Keras 2's "compile
first, then freeze" no longer leaves it trainable in its own `train_on_batch`).
"""

from __future__ import annotations

import keras
import numpy as np


class DocumentsLoop:
    """`step(real_images)` runs one iteration of the documents' loop."""

    def __init__(self, generator, discriminator, learning_rate, beta_1, seed=0):
        self.generator, self.discriminator = generator, discriminator
        self.latent_dim = int(generator.inputs[0].shape[-1])
        loss = keras.losses.BinaryCrossentropy(from_logits=True)
        discriminator.compile(keras.optimizers.Adam(learning_rate, beta_1=beta_1), loss=loss)
        discriminator.trainable = False
        noise = keras.Input((self.latent_dim,))
        self.combined = keras.Model(noise, discriminator(generator(noise)))
        self.combined.compile(keras.optimizers.Adam(learning_rate, beta_1=beta_1), loss=loss)
        self.rng = np.random.default_rng(seed)

    def step(self, real_images):
        batch_size = len(real_images)
        ones = np.ones((batch_size, 1), np.float32)
        noise = self.rng.normal(size=(batch_size, self.latent_dim)).astype(np.float32)
        fake_images = self.generator.predict(noise, verbose=0)
        self.discriminator.trainable = True
        self.discriminator.train_on_batch(real_images, ones)
        self.discriminator.train_on_batch(fake_images, np.zeros_like(ones))
        self.discriminator.trainable = False
        return self.combined.train_on_batch(noise, ones)

    def flops(self, image_shape, batch_size):
        """G forward once (predict), D differentiated twice, G + D differentiated once."""
        from benchmarks.flops import forward_flops, step_flops

        generator = forward_flops(self.generator, (batch_size, self.latent_dim))
        discriminator = forward_flops(self.discriminator, (batch_size, *image_shape))
        return step_flops(
            differentiated=[(discriminator, 3), (generator, 1)],
            forward_only=[(generator, 1)],
        )
