"""The keras-io CycleGAN example's step structure, for timing beside ours (benchmark only).

Structure reproduced: a ResNet generator (reflection padding 3, Conv 7x7, two stride-2 Conv 3x3
downsamplings, residual blocks of reflection-padded Conv 3x3, two stride-2 transposed Conv 3x3,
Conv 7x7 + tanh) and a PatchGAN discriminator (Conv 4x4 stride 2 + LeakyReLU 0.2, then three
Conv 4x4 with norm + LeakyReLU, the last one stride 1, then Conv 4x4 to one channel), every norm
a `GroupNormalization(groups=-1)` with N(0, 0.02) gamma, weights N(0, 0.02); a `keras.Model`
whose `train_step` runs G, F, D_X and D_Y once each inside ONE persistent tape (ten network
calls: six generator, four discriminator), least-squares losses, cycle weight 10, identity
weight 0.5 x 10, and four Adam(2e-4, beta_1=0.5) optimizers, one per network. No image pool.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

KERNEL_INIT = keras.initializers.RandomNormal(mean=0.0, stddev=0.02)
GAMMA_INIT = keras.initializers.RandomNormal(mean=0.0, stddev=0.02)


class ReflectionPadding(layers.Layer):
    def __init__(self, padding=1, **kwargs):
        super().__init__(**kwargs)
        self.padding = padding

    def call(self, inputs):
        p = self.padding
        return tf.pad(inputs, [[0, 0], [p, p], [p, p], [0, 0]], mode="REFLECT")


def _norm():
    return layers.GroupNormalization(groups=-1, gamma_initializer=GAMMA_INIT)


def _residual(x, filters):
    y = ReflectionPadding()(x)
    y = layers.Conv2D(filters, 3, kernel_initializer=KERNEL_INIT, use_bias=False)(y)
    y = layers.ReLU()(_norm()(y))
    y = ReflectionPadding()(y)
    y = layers.Conv2D(filters, 3, kernel_initializer=KERNEL_INIT, use_bias=False)(y)
    return layers.add([x, _norm()(y)])


def resnet_generator(filters=64, downsamplings=2, residual_blocks=9, size=None, name="gen"):
    images = keras.Input((size, size, 3))
    x = ReflectionPadding(3)(images)
    x = layers.Conv2D(filters, 7, kernel_initializer=KERNEL_INIT, use_bias=False)(x)
    x = layers.ReLU()(_norm()(x))
    for _ in range(downsamplings):
        filters *= 2
        x = layers.Conv2D(
            filters, 3, strides=2, padding="same", kernel_initializer=KERNEL_INIT, use_bias=False
        )(x)
        x = layers.ReLU()(_norm()(x))
    for _ in range(residual_blocks):
        x = _residual(x, filters)
    for _ in range(downsamplings):
        filters //= 2
        x = layers.Conv2DTranspose(
            filters, 3, strides=2, padding="same", kernel_initializer=KERNEL_INIT, use_bias=False
        )(x)
        x = layers.ReLU()(_norm()(x))
    x = ReflectionPadding(3)(x)
    x = layers.Conv2D(3, 7, padding="valid")(x)
    return keras.Model(images, layers.Activation("tanh")(x), name=name)


def patch_discriminator(filters=64, downsamplings=3, size=None, name="disc"):
    images = keras.Input((size, size, 3))
    x = layers.Conv2D(filters, 4, strides=2, padding="same", kernel_initializer=KERNEL_INIT)(images)
    x = layers.LeakyReLU(0.2)(x)
    for index in range(downsamplings):
        filters *= 2
        strides = 2 if index < downsamplings - 1 else 1
        x = layers.Conv2D(
            filters,
            4,
            strides=strides,
            padding="same",
            kernel_initializer=KERNEL_INIT,
            use_bias=False,
        )(x)
        x = layers.LeakyReLU(0.2)(_norm()(x))
    x = layers.Conv2D(1, 4, strides=1, padding="same", kernel_initializer=KERNEL_INIT)(x)
    return keras.Model(images, x, name=name)


class KerasIoCycleGan(keras.Model):
    def __init__(self, generator_g, generator_f, discriminator_x, discriminator_y, **kwargs):
        super().__init__(**kwargs)
        self.gen_G, self.gen_F = generator_g, generator_f
        self.disc_X, self.disc_Y = discriminator_x, discriminator_y
        self.lambda_cycle, self.lambda_identity = 10.0, 0.5

    def compile(self, jit_compile=False):
        super().compile(jit_compile=jit_compile)
        self.peer_optimizers = {
            name: keras.optimizers.Adam(2e-4, beta_1=0.5) for name in ("G", "F", "X", "Y")
        }
        for name, network in zip(
            "GFXY", (self.gen_G, self.gen_F, self.disc_X, self.disc_Y), strict=True
        ):
            self.peer_optimizers[name].build(network.trainable_variables)
        self.built = True

    @staticmethod
    def _generator_loss(fake):
        return tf.reduce_mean(tf.square(fake - 1.0))

    @staticmethod
    def _discriminator_loss(real, fake):
        return 0.5 * (tf.reduce_mean(tf.square(real - 1.0)) + tf.reduce_mean(tf.square(fake)))

    def train_step(self, batch):
        real_x, real_y = batch
        with tf.GradientTape(persistent=True) as tape:
            fake_y = self.gen_G(real_x, training=True)
            fake_x = self.gen_F(real_y, training=True)
            cycled_x = self.gen_F(fake_y, training=True)
            cycled_y = self.gen_G(fake_x, training=True)
            same_x = self.gen_F(real_x, training=True)
            same_y = self.gen_G(real_y, training=True)
            disc_real_x = self.disc_X(real_x, training=True)
            disc_fake_x = self.disc_X(fake_x, training=True)
            disc_real_y = self.disc_Y(real_y, training=True)
            disc_fake_y = self.disc_Y(fake_y, training=True)
            # Float32 losses whatever the networks' compute dtype (mixed precision on a GPU).
            fake_y, fake_x, cycled_x, cycled_y, same_x, same_y = (
                tf.cast(t, tf.float32) for t in (fake_y, fake_x, cycled_x, cycled_y, same_x, same_y)
            )
            disc_real_x, disc_fake_x, disc_real_y, disc_fake_y = (
                tf.cast(t, tf.float32) for t in (disc_real_x, disc_fake_x, disc_real_y, disc_fake_y)
            )
            cycle_g = tf.reduce_mean(tf.abs(real_y - cycled_y)) * self.lambda_cycle
            cycle_f = tf.reduce_mean(tf.abs(real_x - cycled_x)) * self.lambda_cycle
            identity_weight = self.lambda_cycle * self.lambda_identity
            identity_g = tf.reduce_mean(tf.abs(real_y - same_y)) * identity_weight
            identity_f = tf.reduce_mean(tf.abs(real_x - same_x)) * identity_weight
            total_g = self._generator_loss(disc_fake_y) + cycle_g + identity_g
            total_f = self._generator_loss(disc_fake_x) + cycle_f + identity_f
            disc_x_loss = self._discriminator_loss(disc_real_x, disc_fake_x)
            disc_y_loss = self._discriminator_loss(disc_real_y, disc_fake_y)
        for name, network, loss in (
            ("G", self.gen_G, total_g),
            ("F", self.gen_F, total_f),
            ("X", self.disc_X, disc_x_loss),
            ("Y", self.disc_Y, disc_y_loss),
        ):
            variables = network.trainable_variables
            gradients = tape.gradient(loss, variables)
            self.peer_optimizers[name].apply_gradients(zip(gradients, variables, strict=True))
        del tape
        return {"G_loss": total_g, "F_loss": total_f, "D_X_loss": disc_x_loss}


def build(size, filters=64, residual_blocks=9, downsamplings=3, jit_compile=False):
    """A compiled keras-io-style CycleGAN for `size` x `size` images."""
    model = KerasIoCycleGan(
        resnet_generator(filters, residual_blocks=residual_blocks, size=size, name="gen_G"),
        resnet_generator(filters, residual_blocks=residual_blocks, size=size, name="gen_F"),
        patch_discriminator(filters, downsamplings, size=size, name="disc_X"),
        patch_discriminator(filters, downsamplings, size=size, name="disc_Y"),
    )
    model.compile(jit_compile=jit_compile)
    return model


def flops(model, size, batch_size=1):
    """Forward-rule FLOPs of one step: 6 generator and 4 discriminator calls, differentiated."""
    from benchmarks.flops import forward_flops, step_flops

    shape = (batch_size, size, size, 3)
    generator = forward_flops(model.gen_G, shape)
    discriminator = forward_flops(model.disc_X, shape)
    return step_flops(differentiated=[(generator, 6), (discriminator, 4)])
