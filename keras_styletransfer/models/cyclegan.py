"""Unpaired translation with cycle consistency: CycleGAN (Zhu et al., 2017).

Paper symbols to code names: G: A -> B is `generator_ab`, F: B -> A is `generator_ba`, D_A and
D_B are `discriminator_a` (judges domain A) and `discriminator_b`, lambda_cyc is `cycle_weight`,
the identity weight is `identity_weight` (0.5 * lambda_cyc by default). Images are in [-1, 1].
"""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_styletransfer import losses as gan_losses
from keras_styletransfer.augment import check_policies, diff_augment
from keras_styletransfer.images import image_psnr, image_ssim
from keras_styletransfer.layers import ImagePool
from keras_styletransfer.models.adversarial import AdversarialModel, unpack_pair
from keras_styletransfer.validation import check_weight

_PACKAGE = "keras_styletransfer"


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
        explanation_guidance, locality_weight: float. Explanation-guided training (see
            `AdversarialModel`). Default to 0 (off).
        augment: str, tuple of str or None. Differentiable augmentations ("translation",
            "cutout"; `keras_styletransfer.augment`) applied to every image a discriminator
            judges in training, real and generated alike, so that D cannot memorise a small set
            of paintings. Defaults to None (off).
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
        augment=None,
        seed=None,
        name="cyclegan",
        **kwargs,
    ):
        super().__init__(
            networks={
                "generator_ab": generator_ab,
                "generator_ba": generator_ba,
                "discriminator_a": discriminator_a,
                "discriminator_b": discriminator_b,
            },
            loss=loss,
            seed=seed,
            seed_name="cyclegan_seed",
            explanation_guidance=explanation_guidance,
            locality_weight=locality_weight,
            name=name,
            **kwargs,
        )
        self.augment = check_policies(augment)
        self.cycle_weight = check_weight(cycle_weight, "cycle_weight")
        if identity_weight is None:
            identity_weight = 0.5 * self.cycle_weight
        self.identity_weight = check_weight(identity_weight, "identity_weight")
        if image_shape is None:
            shape = tuple(generator_ab.inputs[0].shape[1:]) if generator_ab.inputs else ()
            image_shape = shape if shape and None not in shape else None
        self.image_shape = tuple(int(d) for d in image_shape) if image_shape else None
        self.pool_size = pool_size
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

    family = "cyclegan"
    network_roles = ("generator_ab", "generator_ba", "discriminator_a", "discriminator_b")
    directions = ("AB", "BA")
    batch_keys = ("images_a", "images_b")
    generator_input_key = "images_a"
    real_image_key = "images_b"

    def primary_generator(self, direction=None):
        """G (A -> B) for "AB" (the default), F (B -> A) for "BA"."""
        direction = self._check_direction(direction)
        return self.generator_ab if direction == "AB" else self.generator_ba

    def primary_discriminator(self, direction=None):
        """The discriminator judging that direction's outputs: D_B for "AB", D_A for "BA"."""
        direction = self._check_direction(direction)
        return self.discriminator_b if direction == "AB" else self.discriminator_a

    def unpack_batch(self, data):
        images_a, images_b = unpack_pair(data, "CycleGAN")
        return {"images_a": images_a, "images_b": images_b}

    def fake_logits(self, batch, training=False):
        """D_B on G(a) and D_A on F(b)."""
        fake_b = self.generator_ab(batch["images_a"], training=training)
        fake_a = self.generator_ba(batch["images_b"], training=training)
        return [
            self.discriminator_logits(fake_b, direction="AB", training=training),
            self.discriminator_logits(fake_a, direction="BA", training=training),
        ]

    def random_states(self):
        return [
            *super().random_states(),
            self.pool_a.seed_generator.state,
            self.pool_b.seed_generator.state,
        ]

    def call(self, images_a, training=False):
        """G(a): domain A to domain B."""
        return self.generator_ab(images_a, training=training)

    def _logits(self, discriminator, images, training):
        if training and self.augment:
            images = diff_augment(images, self.augment, self.seed_generator)
        return tf.cast(discriminator(images, training=training), tf.float32)

    def generator_terms(self, images_a, images_b, training, logits=None):
        """G's and F's terms; returns (terms, fake_b, fake_a). `logits`, a dict, receives D_B's
        and D_A's training-mode logits of the fakes ("fake_b", "fake_a")."""
        fake_b = self.generator_ab(images_a, training=training)
        fake_a = self.generator_ba(images_b, training=training)
        cycled_a = self.generator_ba(fake_b, training=training)
        cycled_b = self.generator_ab(fake_a, training=training)
        adversarial = self.adversarial_loss.generator

        def judge_b(images):  # D_B / D_A in inference mode, for the explanation options
            return self._logits(self.discriminator_b, images, False)

        def judge_a(images):
            return self._logits(self.discriminator_a, images, False)

        fake_b_logits = self._logits(
            self.discriminator_b, self._guide(judge_b, fake_b, training), training
        )
        fake_a_logits = self._logits(
            self.discriminator_a, self._guide(judge_a, fake_a, training), training
        )
        if logits is not None:
            logits.update(fake_b=fake_b_logits, fake_a=fake_a_logits)
        terms = {
            "g_ab_adversarial_loss": adversarial(fake_b_logits),
            "g_ba_adversarial_loss": adversarial(fake_a_logits),
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

    def discriminator_terms(self, images_a, images_b, fake_a, fake_b, training, fake_logits=None):
        """D_A's and D_B's terms; `fake_logits` ({"fake_b", "fake_a"}, from `generator_terms`)
        stands for judging `fake_b` and `fake_a` again."""
        half = self.adversarial_loss
        real_b_logits = self._logits(self.discriminator_b, images_b, training)
        real_a_logits = self._logits(self.discriminator_a, images_a, training)
        if fake_logits is None:
            fake_b_logits = self._logits(self.discriminator_b, fake_b, training)
            fake_a_logits = self._logits(self.discriminator_a, fake_a, training)
        else:
            fake_b_logits, fake_a_logits = fake_logits["fake_b"], fake_logits["fake_a"]
        terms = {
            "d_a_loss": 0.5 * (half.real_half(real_a_logits) + half.fake_half(fake_a_logits)),
            "d_b_loss": 0.5 * (half.real_half(real_b_logits) + half.fake_half(fake_b_logits)),
            "d_b_real_accuracy": tf.cast(
                gan_losses.per_example_mean(real_b_logits) > half.decision_threshold, tf.float32
            ),
            "d_b_fake_accuracy": tf.cast(
                gan_losses.per_example_mean(fake_b_logits) <= half.decision_threshold,
                tf.float32,
            ),
        }
        terms["d_loss"] = terms["d_a_loss"] + terms["d_b_loss"]
        return terms

    def _losses_and_fakes(self, images_a, images_b, training):
        terms, fake_b, fake_a = self.generator_terms(images_a, images_b, training)
        terms.update(self.discriminator_terms(images_a, images_b, fake_a, fake_b, training))
        return terms, fake_b

    def compute_losses(self, images_a, images_b, training=False):
        """Every term for one batch (per example), without updating the image pools."""
        return self._losses_and_fakes(images_a, images_b, training)[0]

    def train_step(self, data):
        # 1. Unpack (a, b), two independent batches of the two domains.
        # 2. G and F run once; update both on adversarial + cycle + identity terms, with D_A and
        #    D_B frozen (their statistics put back afterwards).
        # 3. Draw the detached fakes through each discriminator's image pool; update D_A and D_B
        #    on real vs pooled fake, each loss halved.
        # 4. Report every term over the global batch.
        self._require_compiled()
        images_a, images_b = unpack_pair(data, "CycleGAN")
        if self._judges_fakes_once():
            return self._update_trackers(self._shared_judgement_step(images_a, images_b))
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

    def _judges_fakes_once(self):
        """Whether D's update can reuse the logits G's update computed (the same numbers: D has
        not changed yet and, without a pool, judges the same fakes). Not with a pool, with
        explanation guidance (G's D input is reshaped), or with D statistics or dropout (a
        second training-mode call would differ)."""
        if self.pool_size or self.explanation_guidance:
            return False
        for network in self.discriminator_networks():
            if network.non_trainable_variables or any(
                isinstance(layer, keras.layers.Dropout) for layer in network._flatten_layers()
            ):
                return False
        return True

    def _shared_judgement_step(self, images_a, images_b):
        # Both updates from one forward pass: D_A and D_B judge the fakes once, their logits
        # serve G's adversarial terms and D's fake halves (the keras-io and TF tutorial step
        # structure), saving two discriminator passes forward and back. Each network is
        # differentiated only by its own tape, so this is the two-phase step's arithmetic.
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            logits = {}
            terms, fake_b, fake_a = self.generator_terms(images_a, images_b, True, logits)
            g_loss = gan_losses.reduce_over_global_batch(terms["g_loss"])
            d_terms = self.discriminator_terms(images_a, images_b, fake_a, fake_b, True, logits)
            d_loss = gan_losses.reduce_over_global_batch(d_terms["d_loss"])
        self._apply(self.generator_optimizer, g_tape, g_loss, self.generator_variables())
        self._apply(self.discriminator_optimizer, d_tape, d_loss, self.discriminator_variables())
        terms.update(d_terms)
        return terms

    def test_step(self, data):
        images_a, images_b = unpack_pair(data, "CycleGAN")
        terms, fake_b = self._losses_and_fakes(images_a, images_b, False)
        terms["psnr"] = image_psnr(images_b, fake_b)
        terms["ssim"] = image_ssim(images_b, fake_b)
        logs = self._update_trackers(terms)
        logs.update(self._update_image_metrics(images_b, lambda: fake_b))
        return logs
