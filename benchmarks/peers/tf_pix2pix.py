"""The TensorFlow pix2pix tutorial's step structure, for timing beside ours (benchmark only).

Structure reproduced: the U-Net generator (eight Conv 4x4 stride-2 downsamplings 64-128-256-512
x5, batch norm but on the first, LeakyReLU 0.3 (Keras' default slope, as the tutorial leaves it);
seven transposed Conv 4x4 stride-2 upsamplings with batch norm, dropout 0.5 on the first three,
ReLU, skip concatenations; a last transposed Conv 4x4 to 3 channels with tanh; weights
N(0, 0.02), no biases but the last), the conditional PatchGAN (the input and the target
concatenated, Conv 4x4 stride 2 64-128-256, zero padding 1, Conv 4x4 512 valid + batch norm +
LeakyReLU, zero padding 1, Conv 4x4 to one channel valid: 30x30 logits at 256x256), BCE from
logits, generator loss = GAN + 100 L1, Adam(2e-4, beta_1=0.5) each, and the step: one
`tf.function` with two tapes in which G runs once and D twice (real pair, fake pair).
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

INIT = keras.initializers.RandomNormal(0.0, 0.02)


def _down(filters, batchnorm=True):
    block = keras.Sequential()
    block.add(
        layers.Conv2D(
            filters, 4, strides=2, padding="same", kernel_initializer=INIT, use_bias=False
        )
    )
    if batchnorm:
        block.add(layers.BatchNormalization())
    block.add(layers.LeakyReLU())
    return block


def _up(filters, dropout=False):
    block = keras.Sequential()
    block.add(
        layers.Conv2DTranspose(
            filters, 4, strides=2, padding="same", kernel_initializer=INIT, use_bias=False
        )
    )
    block.add(layers.BatchNormalization())
    if dropout:
        block.add(layers.Dropout(0.5))
    block.add(layers.ReLU())
    return block


def generator(size=256, filters=64, downsamplings=8):
    """The tutorial's U-Net; `filters` and `downsamplings` shrink it for quick runs."""
    widths = [min(filters * 2**i, 8 * filters) for i in range(downsamplings)]
    down_stack = [_down(width, batchnorm=index > 0) for index, width in enumerate(widths)]
    up_stack = [_up(width, dropout=index < 3) for index, width in enumerate(reversed(widths[:-1]))]
    inputs = keras.Input((size, size, 3))
    x, skips = inputs, []
    for down in down_stack:
        x = down(x)
        skips.append(x)
    for up, skip in zip(up_stack, reversed(skips[:-1]), strict=True):
        x = layers.Concatenate()([up(x), skip])
    last = layers.Conv2DTranspose(
        3, 4, strides=2, padding="same", kernel_initializer=INIT, activation="tanh"
    )
    return keras.Model(inputs, last(x), name="tutorial_generator")


def discriminator(size=256, filters=64):
    source = keras.Input((size, size, 3), name="input_image")
    target = keras.Input((size, size, 3), name="target_image")
    x = layers.concatenate([source, target])
    x = _down(filters, batchnorm=False)(x)
    x = _down(2 * filters)(x)
    x = _down(4 * filters)(x)
    x = layers.ZeroPadding2D()(x)
    x = layers.Conv2D(8 * filters, 4, strides=1, kernel_initializer=INIT, use_bias=False)(x)
    x = layers.LeakyReLU()(layers.BatchNormalization()(x))
    x = layers.ZeroPadding2D()(x)
    x = layers.Conv2D(1, 4, strides=1, kernel_initializer=INIT)(x)
    return keras.Model([source, target], x, name="tutorial_discriminator")


class TutorialPix2Pix:
    """The networks, optimizers and the tutorial's `train_step`, as a `tf.function`."""

    def __init__(self, size=256, filters=64, downsamplings=8, jit_compile=False):
        self.generator = generator(size, filters, downsamplings)
        self.discriminator = discriminator(size, filters)
        self.generator_optimizer = keras.optimizers.Adam(2e-4, beta_1=0.5)
        self.discriminator_optimizer = keras.optimizers.Adam(2e-4, beta_1=0.5)
        self.bce = keras.losses.BinaryCrossentropy(from_logits=True)
        self.train_step = tf.function(self._train_step, jit_compile=jit_compile)

    def _train_step(self, input_image, target):
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            gen_output = self.generator(input_image, training=True)
            disc_real_output = self.discriminator([input_image, target], training=True)
            disc_generated_output = self.discriminator([input_image, gen_output], training=True)
            # Float32 losses whatever the networks' compute dtype (mixed precision on a GPU).
            gen_output = tf.cast(gen_output, tf.float32)
            disc_real_output = tf.cast(disc_real_output, tf.float32)
            disc_generated_output = tf.cast(disc_generated_output, tf.float32)
            gan_loss = self.bce(tf.ones_like(disc_generated_output), disc_generated_output)
            l1_loss = tf.reduce_mean(tf.abs(target - gen_output))
            gen_total_loss = gan_loss + 100.0 * l1_loss
            disc_loss = self.bce(tf.ones_like(disc_real_output), disc_real_output) + self.bce(
                tf.zeros_like(disc_generated_output), disc_generated_output
            )
        generator_gradients = gen_tape.gradient(gen_total_loss, self.generator.trainable_variables)
        discriminator_gradients = disc_tape.gradient(
            disc_loss, self.discriminator.trainable_variables
        )
        self.generator_optimizer.apply_gradients(
            zip(generator_gradients, self.generator.trainable_variables, strict=True)
        )
        self.discriminator_optimizer.apply_gradients(
            zip(discriminator_gradients, self.discriminator.trainable_variables, strict=True)
        )
        return gen_total_loss, disc_loss

    def flops(self, size, batch_size=1):
        """Forward-rule FLOPs of one step: G once, D twice, all differentiated."""
        from benchmarks.flops import forward_flops, step_flops

        shape = (batch_size, size, size, 3)
        return step_flops(
            differentiated=[
                (forward_flops(self.generator, shape), 1),
                (forward_flops(self.discriminator, [shape, shape]), 2),
            ]
        )
