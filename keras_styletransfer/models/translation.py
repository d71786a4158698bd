"""Image-to-image GANs trained by `model.fit`: `Pix2Pix` (paired) and `CycleGAN` (unpaired).

Paper symbols to code names:
    pix2pix (Isola et al., 2017): G is `generator`, D is `discriminator` (conditional: it sees the
        source image x with the target y or G(x)), lambda is `l1_weight`.
    CycleGAN (Zhu et al., 2017): G: A -> B is `generator_ab`, F: B -> A is `generator_ba`, D_A and
        D_B are `discriminator_a` (judges domain A) and `discriminator_b`, lambda_cyc is
        `cycle_weight`, the identity weight is `identity_weight` (0.5 * lambda_cyc by default).
Images are in [-1, 1].
"""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_styletransfer import losses as gan_losses

# Registers every generator and discriminator class, so loading a saved model finds them.
from keras_styletransfer.models import discriminators, generators  # noqa: F401
from keras_styletransfer.models.adversarial import (
    AdversarialModel,
    check_model,
    check_weight,
    gather_over_replicas,
    replica_position,
)
from keras_styletransfer.models.base import named_input

_PACKAGE = "keras_styletransfer"


def image_psnr(targets, outputs):
    """Peak signal-to-noise ratio per example, in dB, for images in [-1, 1] (`tf.image.psnr`)."""
    return tf.image.psnr(tf.cast(targets, tf.float32), tf.cast(outputs, tf.float32), max_val=2.0)


def image_ssim(targets, outputs):
    """Structural similarity per example for images in [-1, 1] (`tf.image.ssim`, 11x11 window).

    SSIM's constants scale with `max_val`, so the value equals SSIM of the same images in [0, 1].
    Images must be at least 11 pixels on each side.
    """
    return tf.image.ssim(tf.cast(targets, tf.float32), tf.cast(outputs, tf.float32), max_val=2.0)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class LinearDecayAfter(keras.optimizers.schedules.LearningRateSchedule):
    """Constant learning rate for `constant_steps`, then linear decay to 0 over `decay_steps`.

    CycleGAN's schedule (100 epochs constant, 100 decaying), counted in optimizer steps.

    Args:
        initial_learning_rate: float.
        constant_steps: int. Steps at the initial rate.
        decay_steps: int. Steps over which the rate falls linearly to 0.
    """

    def __init__(self, initial_learning_rate, constant_steps, decay_steps):
        if not initial_learning_rate > 0:
            raise ValueError(
                f"initial_learning_rate must be > 0; received {initial_learning_rate!r}."
            )
        if int(constant_steps) < 0 or int(decay_steps) < 1:
            raise ValueError(
                "constant_steps must be >= 0 and decay_steps >= 1; received "
                f"{constant_steps!r} and {decay_steps!r}."
            )
        self.initial_learning_rate = float(initial_learning_rate)
        self.constant_steps = int(constant_steps)
        self.decay_steps = int(decay_steps)

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        progress = tf.maximum(step - self.constant_steps, 0.0) / self.decay_steps
        return self.initial_learning_rate * tf.maximum(1.0 - progress, 0.0)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "constant_steps": self.constant_steps,
            "decay_steps": self.decay_steps,
        }


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ImagePool(keras.layers.Layer):
    """A history of generated images for the discriminator (Shrivastava et al., 2017).

    Until the pool is full every image is stored and returned. Afterwards each image is, with
    probability 1/2, swapped for a random stored image (which is returned and replaced), else
    returned as it is. The stored images and the count are layer variables, so they are saved
    with the model and a resumed run continues with the same history.

    Under a distribution strategy the pool is one shared history, as on one device: every replica
    gathers the global batch of new images, runs the same draws from the shared seed on it, stores
    the same result, and keeps its own rows of the output. N replicas therefore see exactly the
    images one device would, at every step (the cost is one all-gather of the fakes per step).

    Args:
        pool_size: int. Images kept; 0 turns the pool off. Defaults to 50.
        image_shape: tuple (H, W, C). Size of the stored images.
        seed: int. Defaults to None.
    """

    def __init__(self, pool_size=50, image_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(pool_size, bool) or not isinstance(pool_size, int) or pool_size < 0:
            raise ValueError(f"pool_size must be an integer >= 0; received {pool_size!r}.")
        self.pool_size = pool_size
        self.image_shape = tuple(int(d) for d in image_shape) if image_shape else None
        if pool_size and (self.image_shape is None or len(self.image_shape) != 3):
            raise ValueError(
                "An image pool needs the (H, W, C) of the images it stores; received "
                f"image_shape={image_shape!r}. Pass the training crop size."
            )
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed, name="pool_seed")
        if pool_size:
            self.images = self.add_weight(
                shape=(pool_size, *self.image_shape),
                initializer="zeros",
                trainable=False,
                name="images",
            )
            self.count = self.add_weight(
                shape=(), initializer="zeros", dtype="int32", trainable=False, name="count"
            )
        self.built = True

    def call(self, images):
        if not self.pool_size:
            return images
        images = tf.cast(images, self.images.dtype)
        local_batch_size = tf.shape(images)[0]
        replica_id, replicas = replica_position()
        images = gather_over_replicas(images)
        batch_size = tf.shape(images)[0]
        swap = keras.random.uniform((batch_size,), seed=self.seed_generator) > 0.5
        slots = keras.random.randint((batch_size,), 0, self.pool_size, seed=self.seed_generator)
        outputs = tf.TensorArray(images.dtype, size=batch_size, element_shape=self.image_shape)

        def step(index, pool, count, outputs):
            image = images[index]
            not_full = count < self.pool_size
            slot = tf.where(not_full, count, slots[index])
            stored = pool[tf.minimum(slot, self.pool_size - 1)]
            replace = tf.logical_or(not_full, swap[index])
            output = tf.where(tf.logical_and(swap[index], tf.logical_not(not_full)), stored, image)
            updated = tf.tensor_scatter_nd_update(pool, [[slot]], image[tf.newaxis])
            pool = tf.where(replace, updated, pool)
            count = tf.where(not_full, count + 1, count)
            return index + 1, pool, count, outputs.write(index, output)

        _, pool, count, outputs = tf.while_loop(
            lambda index, *_: index < batch_size,
            step,
            (tf.constant(0), tf.convert_to_tensor(self.images), self.count.value, outputs),
        )
        self.images.assign(pool)
        self.count.assign(count)
        outputs = outputs.stack()
        if replicas == 1:
            return outputs
        start = replica_id * local_batch_size
        return outputs[start : start + local_batch_size]

    def get_config(self):
        return {
            **super().get_config(),
            "pool_size": self.pool_size,
            "image_shape": self.image_shape,
            "seed": self.seed,
        }


def _serialize(model):
    return keras.saving.serialize_keras_object(model)


def _deserialize(config, *keys):
    config = dict(config)
    for key in keys:
        config[key] = keras.saving.deserialize_keras_object(config[key])
    return config


def _unpack_pair(data, what):
    """(source, target) from a batch given as a tuple, or a clear error."""
    if isinstance(data, dict):
        raise ValueError(f"{what} takes (source, target) tuples; received a dict {list(data)}.")
    x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
    if y is None:
        raise ValueError(
            f"{what} trains on (source, target) pairs of image batches; the data gave only one "
            "tensor per batch. Zip the two image datasets."
        )
    return tf.convert_to_tensor(x), tf.convert_to_tensor(y)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class Pix2Pix(AdversarialModel):
    """Paired image-to-image translation: adversarial loss + `l1_weight` * L1 (Isola et al.).

    `fit` takes batches `(source_images, target_images)`. Each step: G translates the source once;
    D is updated on (x, y) as real and (x, G(x)) as fake, its loss halved as in the reference
    implementation; then G is updated on D's verdict of (x, G(x)) plus lambda * |y - G(x)|, with
    D's weights and statistics left untouched. PSNR and SSIM of G(x) against y are reported in
    `fit` and `evaluate` (so `EarlyStopping(monitor="val_ssim", mode="max")` works).

    Args:
        generator: keras.Model. Maps images to images of the same size (e.g. `UNetGenerator`).
        discriminator: keras.Model. Takes `[source, image]` and returns patch logits (a
            conditional `PatchGANDiscriminator`).
        loss: str. Adversarial loss name. Defaults to "non_saturating" (pix2pix's BCE).
        l1_weight: float. lambda. Defaults to 100.
        explanation_guidance: float. xAI-GAN weight: G's gradient on the images D judges is
            multiplied by `1 + weight * mask`, mask = D's saliency (`explain.guided`).
            Defaults to 0 (off; training is bit-identical to a model without it).
        locality_weight: float. Weight of `mean((1 - mask) * |G(x) - x|)`, edits outside the
            region D's saliency marks, tracked as `locality_loss`. Defaults to 0 (off).
        seed: int. Seed of the model's random stream. Defaults to None.
        name: str. Defaults to "pix2pix".

    References:
        Isola et al., "Image-to-Image Translation with Conditional Adversarial Networks", 2017.
    """

    def __init__(
        self,
        generator,
        discriminator,
        loss="non_saturating",
        l1_weight=100.0,
        explanation_guidance=0.0,
        locality_weight=0.0,
        seed=None,
        name="pix2pix",
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
        self.generator = check_model(generator, "generator")
        self.discriminator = check_model(discriminator, "discriminator")
        if len(discriminator.inputs or []) != 2:
            raise ValueError(
                "Pix2Pix needs a conditional discriminator taking [source, image] (two inputs); "
                f"{discriminator.name!r} takes {len(discriminator.inputs or [])}. Use "
                "PatchGANDiscriminator(conditional=True)."
            )
        self.loss_name = loss
        self.adversarial_loss = gan_losses.get_adversarial_loss(loss)
        self.l1_weight = check_weight(l1_weight, "l1_weight")
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed, name="pix2pix_seed")
        self._set_explanation_options(explanation_guidance, locality_weight)
        self._make_trackers(
            [
                "g_loss",
                "g_adversarial_loss",
                "g_l1_loss",
                "d_loss",
                "d_real_loss",
                "d_fake_loss",
                "d_real_accuracy",
                "d_fake_accuracy",
                "psnr",
                "ssim",
            ]
        )
        self.built = True

    def generator_networks(self):
        return [self.generator]

    def discriminator_networks(self):
        return [self.discriminator]

    def get_config(self):
        return {
            "name": self.name,
            "generator": _serialize(self.generator),
            "discriminator": _serialize(self.discriminator),
            "loss": self.loss_name,
            "l1_weight": self.l1_weight,
            **self._explanation_config(),
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**_deserialize(config, "generator", "discriminator"))

    def call(self, source_images, training=False):
        return self.generator(source_images, training=training)

    def _discriminate(self, source_images, images, training):
        return tf.cast(self.discriminator([source_images, images], training=training), tf.float32)

    def discriminator_terms(self, source_images, target_images, fake_images, training):
        real_logits = self._discriminate(source_images, target_images, training)
        fake_logits = self._discriminate(source_images, fake_images, training)
        terms = {
            "d_real_loss": self.adversarial_loss.real_half(real_logits),
            "d_fake_loss": self.adversarial_loss.fake_half(fake_logits),
        }
        # The reference halves D's loss so that D learns more slowly than G.
        terms["d_loss"] = 0.5 * (terms["d_real_loss"] + terms["d_fake_loss"])
        threshold = self.adversarial_loss.decision_threshold
        terms["d_real_accuracy"] = tf.cast(
            gan_losses._per_example_mean(real_logits) > threshold, tf.float32
        )
        terms["d_fake_accuracy"] = tf.cast(
            gan_losses._per_example_mean(fake_logits) <= threshold, tf.float32
        )
        return terms

    def generator_terms(self, source_images, target_images, fake_images, training):
        def discriminate(images):  # D in inference mode, for the explanation options
            return self._discriminate(source_images, images, False)

        judged_images = self._guide(discriminate, fake_images, training)
        fake_logits = self._discriminate(source_images, judged_images, training)
        terms = {
            "g_adversarial_loss": self.adversarial_loss.generator(fake_logits),
            "g_l1_loss": gan_losses.l1_loss(target_images, fake_images),
        }
        terms["g_loss"] = terms["g_adversarial_loss"] + self.l1_weight * terms["g_l1_loss"]
        return self._add_locality(terms, discriminate, source_images, fake_images)

    def _quality_terms(self, target_images, fake_images):
        fake_images = tf.stop_gradient(fake_images)
        return {
            "psnr": image_psnr(target_images, fake_images),
            "ssim": image_ssim(target_images, fake_images),
        }

    def compute_losses(self, source_images, target_images, training=False):
        """Every term for one batch (per example), as `train_step` reports them."""
        fake_images = self.generator(source_images, training=training)
        terms = self.discriminator_terms(source_images, target_images, fake_images, training)
        terms.update(self.generator_terms(source_images, target_images, fake_images, training))
        terms.update(self._quality_terms(target_images, fake_images))
        return terms

    def train_step(self, data):
        # 1. Unpack (x, y). Translate once: G(x) in training mode, recorded for G's gradient.
        # 2. Update D alone on (x, y) real and (x, G(x)) fake (G(x) detached), loss halved.
        # 3. With D's statistics saved, score (x, G(x)) with the updated D; update G alone on
        #    adversarial + lambda * L1; put D's statistics back.
        # 4. Report every term and PSNR / SSIM of G(x) against y, over the global batch.
        self._require_compiled()
        source_images, target_images = _unpack_pair(data, "Pix2Pix")
        with tf.GradientTape() as g_tape:
            fake_images = self.generator(source_images, training=True)
            with g_tape.stop_recording():
                with tf.GradientTape() as d_tape:
                    terms = self.discriminator_terms(
                        source_images, target_images, tf.stop_gradient(fake_images), True
                    )
                    d_loss = gan_losses.reduce_over_global_batch(terms["d_loss"])
                self._apply(
                    self.discriminator_optimizer, d_tape, d_loss, self.discriminator_variables()
                )
                snapshot = self._frozen_discriminator_state()
            g_terms = self.generator_terms(source_images, target_images, fake_images, True)
            g_loss = gan_losses.reduce_over_global_batch(g_terms["g_loss"])
        self._apply(self.generator_optimizer, g_tape, g_loss, self.generator_variables())
        self._restore(snapshot)
        terms.update(g_terms)
        terms.update(self._quality_terms(target_images, fake_images))
        return self._update_trackers(terms)

    def test_step(self, data):
        source_images, target_images = _unpack_pair(data, "Pix2Pix")
        logs = self._update_trackers(self.compute_losses(source_images, target_images))
        logs.update(
            self._update_image_metrics(
                target_images, lambda: self.generator(source_images, training=False)
            )
        )
        return logs


@keras.saving.register_keras_serializable(package=_PACKAGE)
class CycleGAN(AdversarialModel):
    """Unpaired translation between domains A and B with cycle consistency (Zhu et al.).

    `fit` takes batches `(images_a, images_b)` drawn independently from the two domains. Each
    step, as in the reference implementation: both generators run once; G and F are updated
    together on least-squares adversarial losses + `cycle_weight` * (|F(G(a)) - a| + |G(F(b)) - b|)
    + `identity_weight` * (|G(b) - b| + |F(a) - a|), with both discriminators frozen; then D_A and
    D_B are updated on real images and on G's and F's outputs drawn through an image history pool,
    each loss halved. `evaluate` on `(images_a, truth_b)` pairs also reports PSNR and SSIM of G(a)
    against `truth_b` (meaningful when the truth is a's exact counterpart, as in the offline set).

    Args:
        generator_ab: keras.Model. G: A -> B.
        generator_ba: keras.Model. F: B -> A.
        discriminator_a: keras.Model. D_A, judges domain A.
        discriminator_b: keras.Model. D_B, judges domain B.
        loss: str. Adversarial loss name. Defaults to "least_squares" (CycleGAN's).
        cycle_weight: float. lambda_cyc. Defaults to 10.
        identity_weight: float. Weight of the identity terms. Defaults to 0.5 * cycle_weight.
        pool_size: int. Image history per discriminator; 0 turns it off. Defaults to 50.
        image_shape: tuple (H, W, C). Training crop size, needed by the pools when the
            generators accept any size. Defaults to the generators' input shape when static.
        explanation_guidance: float. xAI-GAN weight: G's gradient on the images D judges is
            multiplied by `1 + weight * mask`, mask = D's saliency (`explain.guided`).
            Defaults to 0 (off; training is bit-identical to a model without it).
        locality_weight: float. Weight of `mean((1 - mask) * |G(x) - x|)`, edits outside the
            region D's saliency marks, tracked as `locality_loss`. Defaults to 0 (off).
        seed: int. Defaults to None.
        name: str. Defaults to "cyclegan".

    References:
        Zhu et al., "Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial
        Networks", 2017.
    """

    def __init__(
        self,
        generator_ab,
        generator_ba,
        discriminator_a,
        discriminator_b,
        loss="least_squares",
        cycle_weight=10.0,
        identity_weight=None,
        pool_size=50,
        image_shape=None,
        explanation_guidance=0.0,
        locality_weight=0.0,
        seed=None,
        name="cyclegan",
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
        self.generator_ab = check_model(generator_ab, "generator_ab")
        self.generator_ba = check_model(generator_ba, "generator_ba")
        self.discriminator_a = check_model(discriminator_a, "discriminator_a")
        self.discriminator_b = check_model(discriminator_b, "discriminator_b")
        self.loss_name = loss
        self.adversarial_loss = gan_losses.get_adversarial_loss(loss)
        self.cycle_weight = check_weight(cycle_weight, "cycle_weight")
        if identity_weight is None:
            identity_weight = 0.5 * self.cycle_weight
        self.identity_weight = check_weight(identity_weight, "identity_weight")
        if image_shape is None:
            shape = tuple(generator_ab.inputs[0].shape[1:]) if generator_ab.inputs else ()
            image_shape = shape if shape and None not in shape else None
        self.image_shape = tuple(int(d) for d in image_shape) if image_shape else None
        self.pool_size = pool_size
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed, name="cyclegan_seed")
        self._set_explanation_options(explanation_guidance, locality_weight)
        pool_seed = None if seed is None else seed + 1
        self.pool_a = ImagePool(pool_size, self.image_shape, seed=pool_seed, name="pool_a")
        self.pool_b = ImagePool(
            pool_size, self.image_shape, seed=None if seed is None else seed + 2, name="pool_b"
        )
        self._make_trackers(
            [
                "g_loss",
                "g_ab_adversarial_loss",
                "g_ba_adversarial_loss",
                "cycle_loss",
                "identity_loss",
                "d_loss",
                "d_a_loss",
                "d_b_loss",
                "d_b_real_accuracy",
                "d_b_fake_accuracy",
                "psnr",
                "ssim",
            ]
        )
        self.built = True

    def generator_networks(self):
        return [self.generator_ab, self.generator_ba]

    def discriminator_networks(self):
        return [self.discriminator_a, self.discriminator_b]

    def _seed_states(self):
        return [
            *super()._seed_states(),
            self.pool_a.seed_generator.state,
            self.pool_b.seed_generator.state,
        ]

    def get_config(self):
        return {
            "name": self.name,
            "generator_ab": _serialize(self.generator_ab),
            "generator_ba": _serialize(self.generator_ba),
            "discriminator_a": _serialize(self.discriminator_a),
            "discriminator_b": _serialize(self.discriminator_b),
            "loss": self.loss_name,
            "cycle_weight": self.cycle_weight,
            "identity_weight": self.identity_weight,
            **self._explanation_config(),
            "pool_size": self.pool_size,
            "image_shape": self.image_shape,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        return cls(
            **_deserialize(
                config, "generator_ab", "generator_ba", "discriminator_a", "discriminator_b"
            )
        )

    def call(self, images_a, training=False):
        """G(a): domain A to domain B."""
        return self.generator_ab(images_a, training=training)

    def _logits(self, discriminator, images, training):
        return tf.cast(discriminator(images, training=training), tf.float32)

    def generator_terms(self, images_a, images_b, training):
        """G's and F's terms; returns (terms, fake_b, fake_a)."""
        fake_b = self.generator_ab(images_a, training=training)
        fake_a = self.generator_ba(images_b, training=training)
        cycled_a = self.generator_ba(fake_b, training=training)
        cycled_b = self.generator_ab(fake_a, training=training)
        adversarial = self.adversarial_loss.generator

        def judge_b(images):  # D_B / D_A in inference mode, for the explanation options
            return self._logits(self.discriminator_b, images, False)

        def judge_a(images):
            return self._logits(self.discriminator_a, images, False)

        terms = {
            "g_ab_adversarial_loss": adversarial(
                self._logits(self.discriminator_b, self._guide(judge_b, fake_b, training), training)
            ),
            "g_ba_adversarial_loss": adversarial(
                self._logits(self.discriminator_a, self._guide(judge_a, fake_a, training), training)
            ),
            "cycle_loss": gan_losses.l1_loss(images_a, cycled_a)
            + gan_losses.l1_loss(images_b, cycled_b),
        }
        total = (
            terms["g_ab_adversarial_loss"]
            + terms["g_ba_adversarial_loss"]
            + self.cycle_weight * terms["cycle_loss"]
        )
        if self.identity_weight:
            terms["identity_loss"] = gan_losses.l1_loss(
                images_b, self.generator_ab(images_b, training=training)
            ) + gan_losses.l1_loss(images_a, self.generator_ba(images_a, training=training))
            total = total + self.identity_weight * terms["identity_loss"]
        terms["g_loss"] = total
        terms = self._add_locality(terms, judge_b, images_a, fake_b)
        terms = self._add_locality(terms, judge_a, images_b, fake_a)
        return terms, fake_b, fake_a

    def discriminator_terms(self, images_a, images_b, fake_a, fake_b, training):
        half = self.adversarial_loss
        real_b_logits = self._logits(self.discriminator_b, images_b, training)
        fake_b_logits = self._logits(self.discriminator_b, fake_b, training)
        real_a_logits = self._logits(self.discriminator_a, images_a, training)
        fake_a_logits = self._logits(self.discriminator_a, fake_a, training)
        terms = {
            "d_a_loss": 0.5 * (half.real_half(real_a_logits) + half.fake_half(fake_a_logits)),
            "d_b_loss": 0.5 * (half.real_half(real_b_logits) + half.fake_half(fake_b_logits)),
            "d_b_real_accuracy": tf.cast(
                gan_losses._per_example_mean(real_b_logits) > half.decision_threshold, tf.float32
            ),
            "d_b_fake_accuracy": tf.cast(
                gan_losses._per_example_mean(fake_b_logits) <= half.decision_threshold,
                tf.float32,
            ),
        }
        terms["d_loss"] = terms["d_a_loss"] + terms["d_b_loss"]
        return terms

    def compute_losses(self, images_a, images_b, training=False):
        """Every term for one batch (per example), without updating the image pools."""
        terms, fake_b, fake_a = self.generator_terms(images_a, images_b, training)
        terms.update(self.discriminator_terms(images_a, images_b, fake_a, fake_b, training))
        return terms, fake_b

    def train_step(self, data):
        # 1. Unpack (a, b), two independent batches of the two domains.
        # 2. G and F run once; update both on adversarial + cycle + identity terms, with D_A and
        #    D_B frozen (their statistics put back afterwards).
        # 3. Draw the detached fakes through each discriminator's image pool; update D_A and D_B
        #    on real vs pooled fake, each loss halved.
        # 4. Report every term over the global batch.
        self._require_compiled()
        images_a, images_b = _unpack_pair(data, "CycleGAN")
        snapshot = self._frozen_discriminator_state()
        with tf.GradientTape() as g_tape:
            terms, fake_b, fake_a = self.generator_terms(images_a, images_b, training=True)
            g_loss = gan_losses.reduce_over_global_batch(terms["g_loss"])
        self._apply(self.generator_optimizer, g_tape, g_loss, self.generator_variables())
        self._restore(snapshot)
        pooled_b = self.pool_b(tf.stop_gradient(fake_b))
        pooled_a = self.pool_a(tf.stop_gradient(fake_a))
        with tf.GradientTape() as d_tape:
            d_terms = self.discriminator_terms(images_a, images_b, pooled_a, pooled_b, True)
            d_loss = gan_losses.reduce_over_global_batch(d_terms["d_loss"])
        self._apply(self.discriminator_optimizer, d_tape, d_loss, self.discriminator_variables())
        terms.update(d_terms)
        return self._update_trackers(terms)

    def test_step(self, data):
        images_a, images_b = _unpack_pair(data, "CycleGAN")
        terms, fake_b = self.compute_losses(images_a, images_b)
        terms["psnr"] = image_psnr(images_b, fake_b)
        terms["ssim"] = image_ssim(images_b, fake_b)
        logs = self._update_trackers(terms)
        logs.update(self._update_image_metrics(images_b, lambda: fake_b))
        return logs


def _unpack_styled(data):
    """(content, style_images, style_indices) from a batch, or a clear error."""
    x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
    if y is None and sample_weight is None:
        data = x  # the three tensors came as one x, e.g. train_on_batch((c, s, i))
    elif sample_weight is None and isinstance(y, (tuple, list)):
        data = (x, *y)  # (content, (style_images, style_indices))
    else:
        data = (x, y, sample_weight)
    if not isinstance(data, (tuple, list)) or len(data) != 3 or any(d is None for d in data):
        raise ValueError(
            "MultiStyleGAN trains on (content_images, style_images, style_indices) batches: "
            "photos, images of the styles, and each style image's style index."
        )
    content, styled, indices = data
    return (
        tf.convert_to_tensor(content),
        tf.convert_to_tensor(styled),
        tf.reshape(tf.cast(indices, tf.int32), [-1]),
    )


@keras.saving.register_keras_serializable(package=_PACKAGE)
class MultiStyleGAN(AdversarialModel):
    """One generator G(x, s, strength) for several styles, trained on unpaired images.

    The domains are the styles in `style_names` plus the content domain (`content_name`, the
    photos), which is the generator's last style index, as in StarGAN. `fit` takes batches
    `(content_images, style_images, style_indices)`: photos, and images of the styles labelled by
    index. Each step: G renders every photo in the style of the style image beside it, at full
    strength; D (adversarial head + auxiliary style classifier) is updated to call photos and
    style images real, G's renders fake, and to classify every real image's domain; then G is
    updated to fool D, to be classified as the target style, and to reconstruct the photo when
    its render is taken back to the content style (cycle). `strength` blends continuously from
    the photo (0) to the full style (1); style weights blend styles.

    Args:
        generator: keras.Model taking `{"image", "style", "strength"}` (a `StyleGenerator` with
            `len(style_names) + 1` styles).
        discriminator: keras.Model returning `[adversarial_logits, style_logits]`, the latter
            over the same `len(style_names) + 1` domains.
        style_names: list of str. The target styles, in index order.
        content_name: str. Name of the content domain. Defaults to "photo".
        loss: str. Adversarial loss name. Defaults to "least_squares".
        style_weight: float. lambda_cls. Defaults to 1.
        cycle_weight: float. lambda_rec. Defaults to 10.
        explanation_guidance: float. xAI-GAN weight: G's gradient on the images D judges is
            multiplied by `1 + weight * mask`, mask = D's saliency (`explain.guided`).
            Defaults to 0 (off; training is bit-identical to a model without it).
        locality_weight: float. Weight of `mean((1 - mask) * |G(x) - x|)`, edits outside the
            region D's saliency marks, tracked as `locality_loss`. Defaults to 0 (off).
        seed: int. Defaults to None.
        name: str. Defaults to "multistyle_gan".

    References:
        Choi et al., "StarGAN", 2018; Dumoulin et al., "A Learned Representation for Artistic
        Style" (conditional instance normalisation), 2017.
    """

    def __init__(
        self,
        generator,
        discriminator,
        style_names,
        content_name="photo",
        loss="least_squares",
        style_weight=1.0,
        cycle_weight=10.0,
        explanation_guidance=0.0,
        locality_weight=0.0,
        seed=None,
        name="multistyle_gan",
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
        self.generator = check_model(generator, "generator")
        self.discriminator = check_model(discriminator, "discriminator")
        style_names = [str(n) for n in style_names]
        if not style_names or len(set(style_names)) != len(style_names):
            raise ValueError(f"style_names must be distinct names; received {style_names!r}.")
        if content_name in style_names:
            raise ValueError(f"content_name {content_name!r} is also a style name.")
        if len(generator.inputs or []) != 3:
            raise ValueError(
                "MultiStyleGAN needs a generator taking {'image', 'style', 'strength'}; "
                f"{generator.name!r} takes {len(generator.inputs or [])} inputs."
            )
        domains = int(named_input(generator, "style", 1).shape[-1])
        if domains != len(style_names) + 1:
            raise ValueError(
                f"the generator has {domains} style slots; {len(style_names)} styles plus the "
                f"content domain need {len(style_names) + 1}."
            )
        if len(discriminator.outputs or []) != 2 or discriminator.outputs[1].shape[-1] != domains:
            raise ValueError(
                "MultiStyleGAN needs a discriminator with two outputs, [adversarial_logits, "
                f"style_logits over {domains} domains] (GlobalPoolDiscriminator(num_styles="
                f"{domains}))."
            )
        self.style_names = style_names
        self.content_name = str(content_name)
        self.content_index = len(style_names)
        self.loss_name = loss
        self.adversarial_loss = gan_losses.get_adversarial_loss(loss)
        self.style_weight = check_weight(style_weight, "style_weight")
        self.cycle_weight = check_weight(cycle_weight, "cycle_weight")
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed, name="multistyle_seed")
        self._set_explanation_options(explanation_guidance, locality_weight)
        self._make_trackers(
            [
                "g_loss",
                "g_adversarial_loss",
                "g_style_loss",
                "cycle_loss",
                "d_loss",
                "d_adversarial_loss",
                "d_style_loss",
                "d_style_accuracy",
                "g_style_accuracy",
            ]
        )
        self.built = True

    @property
    def domain_names(self):
        """The generator's style slots: the styles, then the content domain."""
        return [*self.style_names, self.content_name]

    def generator_networks(self):
        return [self.generator]

    def discriminator_networks(self):
        return [self.discriminator]

    def get_config(self):
        return {
            "name": self.name,
            "generator": _serialize(self.generator),
            "discriminator": _serialize(self.discriminator),
            "style_names": list(self.style_names),
            "content_name": self.content_name,
            "loss": self.loss_name,
            "style_weight": self.style_weight,
            **self._explanation_config(),
            "cycle_weight": self.cycle_weight,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**_deserialize(config, "generator", "discriminator"))

    def render(self, images, style_indices, strength=1.0, training=False):
        """G(x, s, strength) for one style index per image."""
        batch_size = tf.shape(images)[0]
        style = tf.one_hot(style_indices, len(self.domain_names), dtype=images.dtype)
        strength = tf.fill([batch_size, 1], tf.cast(strength, images.dtype))
        return self.generator(
            {"image": images, "style": style, "strength": strength}, training=training
        )

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def _judge(self, images, training):
        adversarial, style = self.discriminator(images, training=training)
        return tf.cast(adversarial, tf.float32), tf.cast(style, tf.float32)

    def discriminator_terms(self, content, styled, indices, fake, training):
        half = self.adversarial_loss
        real_style_adv, real_style_cls = self._judge(styled, training)
        real_photo_adv, real_photo_cls = self._judge(content, training)
        fake_adv, _ = self._judge(fake, training)
        photo_labels = tf.fill(tf.shape(indices), self.content_index)
        terms = {
            "d_adversarial_loss": 0.5
            * (half.real_half(real_style_adv) + half.real_half(real_photo_adv))
            + half.fake_half(fake_adv),
            "d_style_loss": 0.5
            * (
                gan_losses.style_classification_loss(indices, real_style_cls)
                + gan_losses.style_classification_loss(photo_labels, real_photo_cls)
            ),
            "d_style_accuracy": tf.cast(
                tf.argmax(real_style_cls, axis=-1, output_type=tf.int32) == indices, tf.float32
            ),
        }
        terms["d_loss"] = terms["d_adversarial_loss"] + self.style_weight * terms["d_style_loss"]
        return terms

    def generator_terms(self, content, indices, fake, training):
        def judge(images):  # D's adversarial head in inference mode, for the explanation options
            return self._judge(images, False)[0]

        fake_adv, fake_cls = self._judge(self._guide(judge, fake, training), training)
        back = self.render(
            fake, tf.fill(tf.shape(indices), self.content_index), 1.0, training=training
        )
        terms = {
            "g_adversarial_loss": self.adversarial_loss.generator(fake_adv),
            "g_style_loss": gan_losses.style_classification_loss(indices, fake_cls),
            "cycle_loss": gan_losses.l1_loss(content, back),
            "g_style_accuracy": tf.cast(
                tf.argmax(fake_cls, axis=-1, output_type=tf.int32) == indices, tf.float32
            ),
        }
        terms["g_loss"] = (
            terms["g_adversarial_loss"]
            + self.style_weight * terms["g_style_loss"]
            + self.cycle_weight * terms["cycle_loss"]
        )
        return self._add_locality(terms, judge, content, fake)

    def compute_losses(self, content, styled, indices, training=False):
        fake = self.render(content, indices, 1.0, training=training)
        terms = self.discriminator_terms(content, styled, indices, fake, training)
        terms.update(self.generator_terms(content, indices, fake, training))
        return terms

    def train_step(self, data):
        # 1. Unpack photos x, style images y and their style indices t.
        # 2. Render G(x, t, 1) once, recorded for G's gradient.
        # 3. Update D alone: photos and style images real, renders (detached) fake; classify
        #    every real image's domain.
        # 4. With D's statistics saved, update G alone on the updated D's verdict, D's style
        #    classification of the render as t, and the cycle |G(G(x, t), photo) - x|; put D's
        #    statistics back.
        self._require_compiled()
        content, styled, indices = _unpack_styled(data)
        with tf.GradientTape() as g_tape:
            fake = self.render(content, indices, 1.0, training=True)
            with g_tape.stop_recording():
                with tf.GradientTape() as d_tape:
                    terms = self.discriminator_terms(
                        content, styled, indices, tf.stop_gradient(fake), True
                    )
                    d_loss = gan_losses.reduce_over_global_batch(terms["d_loss"])
                self._apply(
                    self.discriminator_optimizer, d_tape, d_loss, self.discriminator_variables()
                )
                snapshot = self._frozen_discriminator_state()
            g_terms = self.generator_terms(content, indices, fake, True)
            g_loss = gan_losses.reduce_over_global_batch(g_terms["g_loss"])
        self._apply(self.generator_optimizer, g_tape, g_loss, self.generator_variables())
        self._restore(snapshot)
        terms.update(g_terms)
        return self._update_trackers(terms)

    def test_step(self, data):
        content, styled, indices = _unpack_styled(data)
        logs = self._update_trackers(self.compute_losses(content, styled, indices))
        logs.update(
            self._update_image_metrics(
                styled, lambda: self.render(content, indices, 1.0), style_indices=indices
            )
        )
        return logs
