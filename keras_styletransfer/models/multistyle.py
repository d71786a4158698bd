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

    Two kinds of discriminator. StarGAN's (`GlobalPoolDiscriminator(num_styles=domains)`): one
    real/fake logit for every domain together and an auxiliary classifier of the domain. Or
    StarGAN v2's multi-task one (`PatchGANDiscriminator(num_outputs=domains)`): a map of patch
    logits per domain, of which each image is judged on its own domain's (a painting on its
    style's, a photo on the photo's, a render on its target style's), so no classifier is
    needed; `d_style_accuracy` / `g_style_accuracy` then report the share of paintings, and of
    renders, that their own style's map calls real (mean over patches).

    Args:
        generator: keras.Model taking `{"image", "style", "strength"}` (a `StyleGenerator` with
            `len(style_names) + 1` styles).
        discriminator: keras.Model returning `[adversarial_logits, style_logits]`, the latter
            over the same `len(style_names) + 1` domains.
        style_names: list of str. The target styles, in index order.
        content_name: str. Name of the content domain. Defaults to "photo".
        loss: str. Adversarial loss name. Defaults to "least_squares".
        style_weight: float. lambda_cls (StarGAN's discriminator only). Defaults to 1.
        cycle_weight: float. lambda_rec. Defaults to 10.
        identity_weight: float, or a list of floats (one per style, in `style_names` order).
            Weight of an identity term, |G(y, t, 1) - y| on every style image y of style t
            (CycleGAN's identity loss, logged unweighted as `identity_loss`): a painting
            rendered in its own style should come back unchanged, which keeps a style's
            colours and contrast where the discriminator alone would let them drift, and also
            holds back what a style adds (outlines), hence a weight per style. Defaults to 0.
        r1_weight: float. gamma of an R1 penalty on D's real images, photos and paintings
            (`losses.r1_penalty`, on D's verdict: the mean patch logit of the image's own
            domain, or the adversarial logit), logged as `d_r1_penalty`. Defaults to 0 (off).
        explanation_guidance, locality_weight: float. Explanation-guided training (see
            `AdversarialModel`). Default to 0 (off).
        seed: int. Defaults to None.
        name: str. Defaults to "multistyle_gan".

    References:
        Choi et al., "StarGAN", 2018; Choi et al., "StarGAN v2", 2020; Dumoulin et al., "A
        Learned Representation for Artistic Style" (conditional instance normalisation), 2017.
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
        r1_weight=0.0,
        identity_weight=0.0,
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
        outputs = discriminator.outputs or []
        self.multitask = len(outputs) == 1 and len(outputs[0].shape) == 4
        if self.multitask:
            wrong = outputs[0].shape[-1] != domains
        else:
            wrong = len(outputs) != 2 or outputs[1].shape[-1] != domains
        if wrong:
            raise ValueError(
                "MultiStyleGAN needs a discriminator with two outputs, [adversarial_logits, "
                f"style_logits over {domains} domains] (GlobalPoolDiscriminator(num_styles="
                f"{domains})), or one map of patch logits per domain "
                f"(PatchGANDiscriminator(num_outputs={domains}))."
            )
        self._style_names = style_names
        self.content_name = str(content_name)
        self.content_index = len(style_names)
        self.style_weight = check_weight(style_weight, "style_weight")
        self.cycle_weight = check_weight(cycle_weight, "cycle_weight")
        self.r1_weight = check_weight(r1_weight, "r1_weight")
        if isinstance(identity_weight, (list, tuple)):
            if len(identity_weight) != len(style_names):
                raise ValueError(
                    f"identity_weight has {len(identity_weight)} weights for "
                    f"{len(style_names)} styles {style_names!r}: give one per style, or one."
                )
            self.identity_weight = [check_weight(w, "identity_weight") for w in identity_weight]
        else:
            self.identity_weight = check_weight(identity_weight, "identity_weight")
        weights = self.identity_weight
        per_style = weights if isinstance(weights, list) else [weights] * len(style_names)
        self._identity_weights = per_style if any(per_style) else None
        names = ["g_loss", "g_adversarial_loss", "g_style_loss", "cycle_loss", "d_loss"]
        names += ["d_adversarial_loss", "d_style_loss", "d_style_accuracy", "g_style_accuracy"]
        if self.multitask:  # no classifier, so no classification losses
            names = [n for n in names if n not in ("g_style_loss", "d_style_loss")]
        names += ["d_r1_penalty"] if self.r1_weight else []
        self._make_trackers(names + (["identity_loss"] if self._identity_weights else []))
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
        """The adversarial head's logits (the style head is `discriminator(images)[1]`); for a
        multi-task discriminator, the map of each image's target domain in `batch` ("indices"),
        else the photo domain's."""
        self._check_direction(direction)
        if not self.multitask:
            return self._judge(images, training)[0]
        indices = None if batch is None else batch.get("indices")
        if indices is None:
            indices = tf.fill([tf.shape(images)[0]], self.content_index)
        return self._verdict(images, tf.reshape(tf.cast(indices, tf.int32), [-1]), training)

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

    def _domain_maps(self, images, training):
        """A multi-task D's patch logits, one map per domain: (batch, h, w, domains)."""
        return tf.cast(self.discriminator(images, training=training), tf.float32)

    def _pick(self, maps, indices):
        """Each image's own domain's map (batch, h, w, 1) out of (batch, h, w, domains)."""
        mask = tf.one_hot(indices, len(self.domain_names), dtype=maps.dtype)
        return tf.reduce_sum(maps * mask[:, None, None, :], axis=-1, keepdims=True)

    def _verdict(self, images, indices, training):
        """D's logits on `images` as images of domains `indices`: the adversarial head (StarGAN)
        or those domains' patch maps (multi-task)."""
        if self.multitask:
            return self._pick(self._domain_maps(images, training), indices)
        return self._judge(images, training)[0]

    def _called_real(self, maps, indices):
        """Whether each image's own domain's map calls it real (its mean over patches above
        the loss's decision threshold). The maps are trained apart, each on its own domain's
        images and renders, so comparing one domain's map with another's would mean nothing."""
        verdict = gan_losses.per_example_mean(self._pick(maps, indices))
        return tf.cast(verdict > self.adversarial_loss.decision_threshold, tf.float32)

    def _r1(self, content, styled, indices, photo_labels):
        """R1 on the real photos and paintings, each on its own domain's verdict."""

        def penalty(images, labels):
            def verdict(x, training):
                return gan_losses.per_example_mean(self._verdict(x, labels, training))

            return gan_losses.r1_penalty(verdict, images)

        return 0.5 * (penalty(styled, indices) + penalty(content, photo_labels))

    def discriminator_terms(self, content, styled, indices, fake, training):
        if self.multitask:
            terms = self._multitask_discriminator_terms(content, styled, indices, fake, training)
        else:
            terms = self._stargan_discriminator_terms(content, styled, indices, fake, training)
        if self.r1_weight:
            photo_labels = tf.fill(tf.shape(indices), self.content_index)
            terms["d_r1_penalty"] = self._r1(content, styled, indices, photo_labels)
            terms["d_loss"] += self.r1_weight * terms["d_r1_penalty"]
        return terms

    def _multitask_discriminator_terms(self, content, styled, indices, fake, training):
        half = self.adversarial_loss
        photo_labels = tf.fill(tf.shape(indices), self.content_index)
        styled_maps = self._domain_maps(styled, training)
        photo_maps = self._domain_maps(content, training)
        terms = {
            "d_adversarial_loss": 0.5
            * (
                half.real_half(self._pick(styled_maps, indices))
                + half.real_half(self._pick(photo_maps, photo_labels))
            )
            + half.fake_half(self._verdict(fake, indices, training)),
            "d_style_accuracy": self._called_real(styled_maps, indices),
        }
        terms["d_loss"] = terms["d_adversarial_loss"]
        return terms

    def _stargan_discriminator_terms(self, content, styled, indices, fake, training):
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

    def generator_terms(self, content, indices, fake, training, styled=None):
        def judge(images):  # D's verdict in inference mode, for the explanation options
            return self._verdict(images, indices, False)

        guided = self._guide(judge, fake, training)
        back = self.render(
            fake, tf.fill(tf.shape(indices), self.content_index), 1.0, training=training
        )
        terms = {"cycle_loss": gan_losses.l1_loss(content, back)}
        if self.multitask:
            maps = self._domain_maps(guided, training)
            terms["g_adversarial_loss"] = self.adversarial_loss.generator(self._pick(maps, indices))
            terms["g_style_accuracy"] = self._called_real(maps, indices)
            style_term = 0.0
        else:
            fake_adv, fake_cls = self._judge(guided, training)
            terms["g_adversarial_loss"] = self.adversarial_loss.generator(fake_adv)
            terms["g_style_loss"] = gan_losses.style_classification_loss(indices, fake_cls)
            terms["g_style_accuracy"] = tf.cast(
                tf.argmax(fake_cls, axis=-1, output_type=tf.int32) == indices, tf.float32
            )
            style_term = self.style_weight * terms["g_style_loss"]
        terms["g_loss"] = (
            terms["g_adversarial_loss"] + style_term + self.cycle_weight * terms["cycle_loss"]
        )
        if self._identity_weights and styled is not None:
            same = self.render(styled, indices, 1.0, training=training)
            terms["identity_loss"] = gan_losses.l1_loss(styled, same)
            weights = tf.gather(tf.constant(self._identity_weights, tf.float32), indices)
            terms["g_loss"] += weights * terms["identity_loss"]
        return self._add_locality(terms, judge, content, fake)

    def compute_losses(self, content, styled, indices, training=False):
        fake = self.render(content, indices, 1.0, training=training)
        terms = self.discriminator_terms(content, styled, indices, fake, training)
        terms.update(self.generator_terms(content, indices, fake, training, styled))
        return terms

    def train_step(self, data):
        # 1. Unpack photos x, style images y and their style indices t.
        # 2. Render G(x, t, 1) once, recorded for G's gradient.
        # 3. Update D alone: photos and style images real, renders (detached) fake; classify
        #    every real image's domain.
        # 4. With D's statistics saved, update G alone on the updated D's verdict, D's style
        #    classification of the render as t, the cycle |G(G(x, t), photo) - x| and (with
        #    `identity_weight`) |G(y, t) - y|; put D's statistics back.
        self._require_compiled()
        content, styled, indices = _unpack_styled(data)
        terms, _ = self._discriminator_then_generator_step(
            lambda: self.render(content, indices, 1.0, training=True),
            lambda fake: self.discriminator_terms(content, styled, indices, fake, True),
            lambda fake: self.generator_terms(content, indices, fake, True, styled),
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
