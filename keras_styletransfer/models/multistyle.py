"""One generator for several styles: G(x, s, strength) trained adversarially (StarGAN-like)."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_styletransfer import losses as gan_losses
from keras_styletransfer.models.adversarial import AdversarialModel
from keras_styletransfer.models.base import named_input
from keras_styletransfer.validation import check_weight

_PACKAGE = "keras_styletransfer"


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
        explanation_guidance, locality_weight: float. Explanation-guided training (see
            `AdversarialModel`). Default to 0 (off).
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
        super().__init__(
            networks={"generator": generator, "discriminator": discriminator},
            loss=loss,
            seed=seed,
            seed_name="multistyle_seed",
            explanation_guidance=explanation_guidance,
            locality_weight=locality_weight,
            name=name,
            **kwargs,
        )
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
        self._style_names = style_names
        self.content_name = str(content_name)
        self.content_index = len(style_names)
        self.style_weight = check_weight(style_weight, "style_weight")
        self.cycle_weight = check_weight(cycle_weight, "cycle_weight")
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

    family = "multistyle"
    batch_keys = ("content", "styled", "indices")
    generator_input_key = "content"
    real_image_key = "styled"

    @property
    def style_names(self):
        return list(self._style_names)

    @property
    def domain_names(self):
        """The generator's style slots: the styles, then the content domain."""
        return [*self._style_names, self.content_name]

    @property
    def generator_style_names(self):
        return self.domain_names

    def unpack_batch(self, data):
        content, styled, indices = _unpack_styled(data)
        return {"content": content, "styled": styled, "indices": indices}

    def content_batch(self, images, style_index=0):
        images = tf.convert_to_tensor(images)
        return {
            "content": images,
            "indices": tf.fill([tf.shape(images)[0]], tf.cast(style_index, tf.int32)),
        }

    def generator_inputs(self, batch):
        indices = tf.reshape(tf.cast(batch["indices"], tf.int32), [-1])
        content = tf.convert_to_tensor(batch["content"])
        return {
            "image": content,
            "style": tf.one_hot(indices, len(self.domain_names), dtype=content.dtype),
            "strength": tf.ones([tf.shape(content)[0], 1], content.dtype),
        }

    def discriminator_logits(self, images, batch=None, direction=None, training=False):
        """The adversarial head's logits (the style head is `discriminator(images)[1]`)."""
        self._check_direction(direction)
        return self._judge(images, training)[0]

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
        terms, _ = self._discriminator_then_generator_step(
            lambda: self.render(content, indices, 1.0, training=True),
            lambda fake: self.discriminator_terms(content, styled, indices, fake, True),
            lambda fake: self.generator_terms(content, indices, fake, True),
        )
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
