"""A noise-to-image GAN that trains through `model.fit`.

Paper symbols to code names: G is `generator`, D is `discriminator`, z is `noise`, x is
`real_images`, G(z) is `fake_images`, D(x) and D(G(z)) are `real_logits` and `fake_logits`,
lambda_GP is `gradient_penalty_weight`, gamma (R1) is `r1_weight`.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_styletransfer import losses as gan_losses
from keras_styletransfer.augment import check_policies, diff_augment
from keras_styletransfer.models.adversarial import AdversarialModel, first_batch
from keras_styletransfer.replicas import draw_for_this_replica, gather_over_replicas
from keras_styletransfer.validation import check_positive_int, check_weight

_PACKAGE = "keras_styletransfer"


def static_image_shape(model, which):
    """The (H, W, C) a functional model takes (`which="input"`) or makes (`which="output"`).

    Returns None when the model has no static graph to read it from.
    """
    tensors = getattr(model, "inputs" if which == "input" else "outputs", None)
    try:
        return tuple(tensors[0].shape[1:])
    except (TypeError, IndexError, AttributeError):
        return None


@keras.saving.register_keras_serializable(package=_PACKAGE)
class GAN(AdversarialModel):
    """A generator G(z) and a discriminator D(x) trained adversarially by `fit`.

    Fixes the source documents' training loops: D is never updated during the generator step (its
    weights and statistics are bit-identical after it), the images fed to D are G's output (not
    D(G(z))), both halves of D's loss are logged, every step draws fresh noise from a
    checkpointed `keras.random.SeedGenerator`, and sampling or evaluation never changes a weight.

    Args:
        generator: keras.Model. Maps noise `(batch, latent_dim)` to images in [-1, 1].
        discriminator: keras.Model. Maps images to logits (any shape per example, e.g. a patch map).
        loss: str. Adversarial objective, a name from `keras_styletransfer.losses`:
            "non_saturating", "minimax", "least_squares", "wasserstein" or "hinge".
            Defaults to "non_saturating".
        n_critic: int. Discriminator updates per generator update. Defaults to 1.
        gradient_penalty_weight: float. WGAN-GP weight lambda. Defaults to 10 for "wasserstein"
            and 0 otherwise.
        r1_weight: float. R1 penalty weight gamma on real images. Defaults to 0.
        latent_dim: int. Size of z. Defaults to the generator's input size.
        diversity_weight: float. Weight of the mode-seeking term that rewards G for mapping
            different noise to different images (MSGAN); the remedy for a generator that
            collapses to one output. Defaults to 0 (off). The diversity ratio itself is always
            reported as `g_diversity`: near 0 means collapse.
        augment: tuple of str, or a comma-separated str. Differentiable augmentations
            ("translation", "cutout") applied to every image D sees during training, real and
            generated alike (DiffAugment): the remedy for a D that memorises a small data set.
            Defaults to None (none).
        explanation_guidance: float. Explanation-guided training (see `AdversarialModel`).
            Defaults to 0 (off).
        seed: int. Seed of the noise stream. Defaults to None (random).
        name: str. Defaults to "gan".

    Example:
        >>> gan = GAN(MNISTGenerator(), MNISTDiscriminator())
        >>> gan.compile()
        >>> gan.fit(dataset_of_images_in_minus1_1, epochs=5)

    References:
        Goodfellow et al., "Generative Adversarial Nets", 2014; Radford et al., "DCGAN", 2016.
    """

    def __init__(
        self,
        generator,
        discriminator,
        loss="non_saturating",
        n_critic=1,
        gradient_penalty_weight=None,
        r1_weight=0.0,
        latent_dim=None,
        diversity_weight=0.0,
        augment=None,
        explanation_guidance=0.0,
        seed=None,
        name="gan",
        **kwargs,
    ):
        super().__init__(
            networks={"generator": generator, "discriminator": discriminator},
            loss=loss,
            seed=seed,
            seed_name="noise_seed",
            explanation_guidance=explanation_guidance,
            name=name,
            **kwargs,
        )
        n_critic = check_positive_int(n_critic, "n_critic")
        if gradient_penalty_weight is None:
            gradient_penalty_weight = 10.0 if loss == "wasserstein" else 0.0
        produced = static_image_shape(generator, "output")
        expected = static_image_shape(discriminator, "input")
        if produced is not None and expected is not None and produced != expected:
            raise ValueError(
                f"The generator makes images of shape {produced} but the discriminator expects "
                f"{expected}. Build both for the same image shape (e.g. a 28x28 generator for "
                "a 28x28 discriminator)."
            )
        if latent_dim is None:
            input_shape = static_image_shape(generator, "input")
            if not input_shape or len(input_shape) != 1:
                raise ValueError(
                    "Cannot read the noise size from the generator's inputs; pass `latent_dim`."
                )
            latent_dim = int(input_shape[0])
        self.n_critic = n_critic
        self.gradient_penalty_weight = check_weight(
            gradient_penalty_weight, "gradient_penalty_weight"
        )
        self.r1_weight = check_weight(r1_weight, "r1_weight")
        self.diversity_weight = check_weight(diversity_weight, "diversity_weight")
        self.latent_dim = int(latent_dim)
        self.augment = check_policies(augment)
        names = [
            "g_loss",
            "d_loss",
            "d_real_loss",
            "d_fake_loss",
            "d_real_accuracy",
            "d_fake_accuracy",
            "real_logits_mean",
            "fake_logits_mean",
            "g_diversity",
        ]
        if self.gradient_penalty_weight:
            names.append("gradient_penalty")
        if self.r1_weight:
            names.append("r1_penalty")
        self._make_trackers(names)
        self.built = True

    family = "gan"
    batch_keys = ("real_images", "noise")
    real_image_key = "real_images"

    def unpack_batch(self, data):
        """`{"real_images", "noise"}`: the batch's images (labels ignored) and fresh noise."""
        real_images, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        real_images = tf.convert_to_tensor(real_images)
        return {"real_images": real_images, "noise": self.sample_noise(tf.shape(real_images)[0])}

    def probe_batch(self, data, size=8, seed=0):
        """The first `size` real images and fixed noise from a NumPy stream seeded with `seed`."""
        import numpy as np

        # Only the images come from the data; drawing noise from the model's own stream here
        # would move the training run's noise.
        real_images, _, _ = keras.utils.unpack_x_y_sample_weight(first_batch(data))
        probe = {"real_images": np.asarray(real_images)[: check_positive_int(size, "probe size")]}
        noise = np.random.default_rng(seed).standard_normal(
            (len(probe["real_images"]), self.latent_dim)
        )
        return {
            "real_images": probe["real_images"].astype(np.float32),
            "noise": noise.astype(np.float32),
        }

    def generator_inputs(self, batch):
        return batch["noise"]

    # --- config ----------------------------------------------------------------------------

    # --- generation ------------------------------------------------------------------------

    def call(self, noise, training=False):
        return self.generator(noise, training=training)

    def sample_noise(self, batch_size):
        """Draw `batch_size` noise vectors from the GAN's own seeded stream.

        Inside a replica of a distributed step, `batch_size` is the local batch and the result is
        this replica's rows of the global batch's draw, so N replicas train on exactly the noise
        one device would draw (see `adversarial.draw_for_this_replica`).
        """
        return draw_for_this_replica(
            lambda size: keras.random.normal((size, self.latent_dim), seed=self.seed_generator),
            batch_size,
        )

    # --- losses ------------------------------------------------------------------------------

    def discriminator_losses(self, real_images, fake_images, training):
        """D's loss terms on one real and one fake batch.

        Returns:
            A dict of per-example tensors: `d_loss` (what D minimises), `d_real_loss`,
            `d_fake_loss`, the penalties when enabled, and the logits `real_logits`,
            `fake_logits` (per-example means of D's output).
        """
        if training and self.augment:
            real_images = diff_augment(real_images, self.augment, self.seed_generator)
            fake_images = diff_augment(fake_images, self.augment, self.seed_generator)
        real_logits = tf.cast(self.discriminator(real_images, training=training), tf.float32)
        fake_logits = tf.cast(self.discriminator(fake_images, training=training), tf.float32)
        terms = {
            "d_real_loss": self.adversarial_loss.real_half(real_logits),
            "d_fake_loss": self.adversarial_loss.fake_half(fake_logits),
            "real_logits": gan_losses.per_example_mean(real_logits),
            "fake_logits": gan_losses.per_example_mean(fake_logits),
        }
        total = terms["d_real_loss"] + terms["d_fake_loss"]
        batch_size = tf.shape(real_images)[0]
        if self.gradient_penalty_weight:
            weights = draw_for_this_replica(
                lambda size: keras.random.uniform((size,), seed=self.seed_generator), batch_size
            )
            terms["gradient_penalty"] = gan_losses.gradient_penalty(
                self.discriminator,
                real_images,
                fake_images,
                weights,
            )
            total = total + self.gradient_penalty_weight * terms["gradient_penalty"]
        if self.r1_weight:
            terms["r1_penalty"] = gan_losses.r1_penalty(self.discriminator, real_images)
            total = total + self.r1_weight * terms["r1_penalty"]
        terms["d_loss"] = total
        return terms

    def compute_losses(self, real_images, noise, training=False):
        """Every loss term for one batch, shared by `train_step` (for reporting) and `test_step`.

        Args:
            real_images: tensor `(batch, H, W, C)` in [-1, 1].
            noise: tensor `(batch, latent_dim)`.
            training: bool. Whether G and D run in training mode.

        Returns:
            A dict of per-example tensors (see `discriminator_losses`) plus `g_loss`.
        """
        fake_images = self.generator(noise, training=training)
        terms = self.discriminator_losses(real_images, fake_images, training)
        fake_logits = tf.cast(self.discriminator(fake_images, training=training), tf.float32)
        terms["g_loss"] = self.adversarial_loss.generator(fake_logits)
        # Pairs (i, i + B/2) of the global batch, as in `generator_step`.
        terms["g_diversity"] = gan_losses.diversity_ratio(
            gather_over_replicas(tf.stop_gradient(fake_images)), gather_over_replicas(noise)
        )
        return terms

    def _update_trackers(self, terms):
        threshold = self.adversarial_loss.decision_threshold
        terms = dict(terms)
        terms["d_real_accuracy"] = tf.cast(terms["real_logits"] > threshold, tf.float32)
        terms["d_fake_accuracy"] = tf.cast(terms["fake_logits"] <= threshold, tf.float32)
        terms["real_logits_mean"] = terms["real_logits"]
        terms["fake_logits_mean"] = terms["fake_logits"]
        return super()._update_trackers(terms)

    # --- steps -------------------------------------------------------------------------------

    def discriminator_step(self, real_images):
        """One update of D alone on fresh noise; returns D's per-example terms before it."""
        noise = self.sample_noise(tf.shape(real_images)[0])
        d_variables = self.discriminator.trainable_variables
        with tf.GradientTape() as tape:
            fake_images = self.generator(noise, training=True)
            terms = self.discriminator_losses(real_images, fake_images, training=True)
            d_loss = gan_losses.reduce_over_global_batch(terms["d_loss"])
        self._apply(self.discriminator_optimizer, tape, d_loss, d_variables)
        return terms

    def generator_step(self, batch_size):
        """One update of G alone on fresh noise; D is left bit-identical.

        Returns:
            `(g_loss, diversity)`: G's per-example loss and the per-pair diversity ratios.
        """
        d_state = self._frozen_discriminator_state()
        noise = self.sample_noise(batch_size)
        g_variables = self.generator.trainable_variables
        with tf.GradientTape() as tape:
            fake_images = self.generator(noise, training=True)
            judged_images = fake_images
            if self.augment:
                judged_images = diff_augment(fake_images, self.augment, self.seed_generator)
            judged_images = self._guide(
                lambda images: self.discriminator(images, training=False), judged_images
            )
            fake_logits = tf.cast(self.discriminator(judged_images, training=True), tf.float32)
            g_per_example = self.adversarial_loss.generator(fake_logits)
            if self.diversity_weight:
                g_per_example += self.diversity_weight * gan_losses.mode_seeking_loss(
                    fake_images, noise
                )
            g_loss = gan_losses.reduce_over_global_batch(g_per_example)
        self._apply(self.generator_optimizer, tape, g_loss, g_variables)
        self._restore(d_state)
        # The reported ratios pair example i with i + B/2 of the *global* batch, which spans
        # replicas: every replica computes all of them (the Mean tracker's sums over replicas then
        # give the same mean). The mode-seeking loss above pairs within each replica's batch.
        diversity = gan_losses.diversity_ratio(
            gather_over_replicas(tf.stop_gradient(fake_images)), gather_over_replicas(noise)
        )
        return g_per_example, tf.stop_gradient(diversity)

    def train_step(self, data):
        # 1. Unpack the real images (labels, if any, are ignored by an unconditional GAN).
        # 2. n_critic times: draw fresh noise, make G(z) in training mode, update D alone on
        #    D's loss (both halves + penalties), reduced over the global batch.
        # 3. Draw fresh noise again; update G alone on its adversarial loss; D's weights and
        #    statistics are bit-identical afterwards.
        # 4. Report every term (D's from the last critic step), averaged over the global batch.
        self._require_compiled()
        real_images, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        real_images = tf.convert_to_tensor(real_images)
        for _ in range(self.n_critic):
            terms = self.discriminator_step(real_images)
        terms["g_loss"], terms["g_diversity"] = self.generator_step(tf.shape(real_images)[0])
        return self._update_trackers(terms)

    def test_step(self, data):
        real_images, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        real_images = tf.convert_to_tensor(real_images)
        noise = self.sample_noise(tf.shape(real_images)[0])
        logs = self._update_trackers(self.compute_losses(real_images, noise, training=False))
        logs.update(
            self._update_image_metrics(real_images, lambda: self.generator(noise, training=False))
        )
        return logs
