"""Paired image-to-image translation: pix2pix (Isola et al., 2017).

Paper symbols to code names: G is `generator`, D is `discriminator` (conditional: it sees the
source image x with the target y or G(x)), lambda is `l1_weight`. Images are in [-1, 1].
"""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_styletransfer import losses as gan_losses
from keras_styletransfer.images import image_psnr, image_ssim
from keras_styletransfer.models.adversarial import AdversarialModel, unpack_pair
from keras_styletransfer.validation import check_weight

_PACKAGE = "keras_styletransfer"


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
        explanation_guidance, locality_weight: float. Explanation-guided training (see
            `AdversarialModel`). Default to 0 (off).
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
        super().__init__(
            networks={"generator": generator, "discriminator": discriminator},
            loss=loss,
            seed=seed,
            seed_name="pix2pix_seed",
            explanation_guidance=explanation_guidance,
            locality_weight=locality_weight,
            name=name,
            **kwargs,
        )
        if len(discriminator.inputs or []) != 2:
            raise ValueError(
                "Pix2Pix needs a conditional discriminator taking [source, image] (two inputs); "
                f"{discriminator.name!r} takes {len(discriminator.inputs or [])}. Use "
                "PatchGANDiscriminator(conditional=True)."
            )
        self.l1_weight = check_weight(l1_weight, "l1_weight")
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

    family = "pix2pix"
    batch_keys = ("source_images", "target_images")
    generator_input_key = "source_images"
    real_image_key = "target_images"

    def unpack_batch(self, data):
        source_images, target_images = unpack_pair(data, "Pix2Pix")
        return {"source_images": source_images, "target_images": target_images}

    def discriminator_inputs(self, batch):
        return [batch["source_images"], batch["target_images"]]

    def discriminator_logits(self, images, batch=None, direction=None, training=False):
        """D's logits on `images` conditioned on `batch["source_images"]` (required)."""
        self._check_direction(direction)
        if batch is None or "source_images" not in batch:
            raise ValueError(
                "a Pix2Pix discriminator judges (source, image) pairs: pass the batch holding "
                "`source_images`."
            )
        return self._discriminate(batch["source_images"], images, training)

    def call(self, source_images, training=False):
        return self.generator(source_images, training=training)

    def _discriminate(self, source_images, images, training):
        # Tensors both (a probe batch holds NumPy arrays; Keras refuses a mixed list).
        pair = [tf.convert_to_tensor(source_images), tf.convert_to_tensor(images)]
        return tf.cast(self.discriminator(pair, training=training), tf.float32)

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
            gan_losses.per_example_mean(real_logits) > threshold, tf.float32
        )
        terms["d_fake_accuracy"] = tf.cast(
            gan_losses.per_example_mean(fake_logits) <= threshold, tf.float32
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
        source_images, target_images = unpack_pair(data, "Pix2Pix")
        terms, fake_images = self._discriminator_then_generator_step(
            lambda: self.generator(source_images, training=True),
            lambda fakes: self.discriminator_terms(source_images, target_images, fakes, True),
            lambda fakes: self.generator_terms(source_images, target_images, fakes, True),
        )
        terms.update(self._quality_terms(target_images, fake_images))
        return self._update_trackers(terms)

    def test_step(self, data):
        source_images, target_images = unpack_pair(data, "Pix2Pix")
        logs = self._update_trackers(self.compute_losses(source_images, target_images))
        logs.update(
            self._update_image_metrics(
                target_images, lambda: self.generator(source_images, training=False)
            )
        )
        return logs
