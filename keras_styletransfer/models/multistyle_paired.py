"""Several styles learnt from exact pairs: one style-conditioned U-Net, trained like pix2pix.

`StyleUNetGenerator` is pix2pix's U-Net with a style condition, taking the same
`{"image", "style", "strength"}` inputs as `StyleGenerator`, so serving, blending and the
explanations use it unchanged. `PairedMultiStyle` trains it on (photo, exact stylisation, style
index) batches with L1 plus a conditional PatchGAN that also sees which style was asked for.
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf
from keras import layers

from keras_styletransfer import losses as gan_losses
from keras_styletransfer.images import image_psnr, image_ssim
from keras_styletransfer.models.adversarial import AdversarialModel
from keras_styletransfer.models.base import (
    GraphModel,
    StyleSlots,
    blend_by_strength,
    check_dropout,
    named_input,
)
from keras_styletransfer.validation import check_int, check_positive_int, check_weight

_PACKAGE = "keras_styletransfer"
_NORMS = ("batch", "instance")
_RECONSTRUCTIONS = {"l1": gan_losses.l1_loss, "l2": gan_losses.l2_loss}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class StyleUNetGenerator(StyleSlots, GraphModel):
    """pix2pix's U-Net with a style condition: G(image, style, strength) for several styles.

    Inputs and output exactly as `StyleGenerator`: a dict `{"image", "style", "strength"}` (or a
    list in that order): images (batch, H, W, channels) in [-1, 1] with H and W multiples of
    `size_multiple` (2**num_downsamplings), style weights (batch, num_styles) (one-hot, or a mix
    to blend) and strength (batch, 1). The U-Net renders a styled image y (layer "styled", tanh)
    and the output is `image + strength * (y - image)` (layer "to_image"): strength 0 returns
    the photo exactly, 1 the full style.

    The layout is `UNetGenerator`'s (Conv 4x4 stride 2 down with LeakyReLU(0.2), up with ReLU,
    skip concatenations, no norm on `down1`) but for its head: the last up block (`up{n}`,
    n = num_downsamplings) makes `filters` channels at full resolution, the photo itself is
    concatenated to them (`skip{n}`) and a Conv 3x3 + tanh renders y (`styled`). pix2pix's head
    makes the image from features of half its resolution; the styles here keep most of the
    photo's detail, and with the photo at hand the head can keep it. Measured on the offline
    photos (watercolour + cartoon, 64-px crops, 1500 steps of batch 4, seed 0): the share of the
    photo-to-truth SSIM gap closed on held-out photos rose from 0.16 / 0.13 / 0.07 (crops / 256
    px / native) to 0.34 / 0.30 / 0.33 for watercolour, and from -0.05 / -0.07 / -0.11 to
    0.23 / 0.21 / 0.24 for cartoon.

    Every norm is conditioned on the style weights:

    - `norm="batch"` (default): conditional batch norm, `BatchNormalization(center=False,
      scale=False)` (`{block}_bn`) then `layers.StyleAffine` (`{block}_style`): per-style gamma
      and beta tables, a blend of styles uses the weighted tables. At inference the statistics
      are the moving averages, the same for a 64-px crop, a 512-px tile or a whole photo.
    - `norm="instance"`: `layers.StyleConditionedNormalization` (`{block}_norm`), conditional
      instance norm; its statistics are each image's own, so they change with the image's size.
      Same measurement: a 128-px window rendered alone differs from that window of the whole
      256-px render by 4.8 levels (of 255) in its centre, against 0.00 with batch norm, and the
      gap closed fell to 0.09 (watercolour) and -0.17 (cartoon) on native-size photos.

    The condition is the style weights themselves, not `strength * style`: training sees strength
    1 only, and strength acts through the output blend alone, so every strength runs the network
    on a condition it was trained on.

    Upsampling: "resize" (default) is a x2 nearest-neighbour resize then Conv 3x3
    (`layers.upsample`), with no period-2 checkerboard; "transpose" is pix2pix's Conv2DTranspose
    4x4 stride 2. Same measurement: outputs' period-2 energy over the truth's was 0.26-0.27 with
    resize and 0.74-0.98 with transpose, whose gap closed was also lower (0.24 / 0.19 / 0.18,
    watercolour). Dropout 0.5 (pix2pix's) closed slightly less (0.32 / 0.28 / 0.31), so the
    default is none.

    Layer names: `down{i}` (+ `_bn`, `_style` or `_norm`, `_lrelu`), `up{i}` (+ `_resize`, `_bn`,
    `_style` or `_norm`, `_dropout`, `_relu`), `skip{i}` (`skip{n}` holds the photo), `styled`,
    `change`, `scaled_change`, `to_image`.

    Args:
        num_styles: int. Style slots (the styles of the model; no content slot).
        num_downsamplings: int. Stride-2 levels; `log2(crop) - 2` goes down to 4x4.
            Defaults to 4 (64-px crops).
        filters: int. Width of the first layer, doubled per level up to `max_filters`.
            Defaults to 32.
        max_filters: int. Defaults to 256.
        channels: int. Image channels. Defaults to 3.
        upsampling: str. "resize" or "transpose". Defaults to "resize".
        dropout: float in [0, 1). Rate on the first three up blocks, as pix2pix; 0 leaves the
            Dropout layers out. Defaults to 0.
        norm: str. "batch" or "instance". Defaults to "batch".
        residual: bool. Render y = clip(image + correction, -1, 1) instead of the tanh head:
            a Conv 3x3 + tanh (`correction`, kernel initialised to zero, so the untrained
            generator is the identity), added to the photo (`photo_plus_correction`) and
            clipped (`shift_up`, `clip`, `styled`). For restoration (`data.restoration`),
            where the target is the input plus a correction. Defaults to False.
        refine_layers: int. Conv 3x3 + LeakyReLU(0.2) layers of `filters` channels at full
            resolution between `skip{n}` and the head (`refine{i}`, `refine{i}_lrelu`): a nonlinear
            per-pixel path, which restoration (denoising, deblurring) needs. Defaults to 0.
        name: str. Defaults to "style_unet_generator".

    Example:
        >>> generator = StyleUNetGenerator(num_styles=2, num_downsamplings=3)
        >>> generator({"image": keras.random.uniform((1, 32, 32, 3), -1, 1),
        ...            "style": [[0.5, 0.5]], "strength": [[1.0]]}).shape
        TensorShape([1, 32, 32, 3])

    References:
        Isola et al., "Image-to-Image Translation with Conditional Adversarial Networks", 2017;
        de Vries et al., "Modulating early visual processing by language", 2017; Dumoulin et
        al., "A Learned Representation for Artistic Style", 2017.
    """

    def __init__(
        self,
        num_styles,
        num_downsamplings=4,
        filters=32,
        max_filters=256,
        channels=3,
        upsampling="resize",
        dropout=0.0,
        norm="batch",
        residual=False,
        refine_layers=0,
        name="style_unet_generator",
        **kwargs,
    ):
        from keras_styletransfer.layers import (
            ImageSizeCheck,
            StyleAffine,
            StyleConditionedNormalization,
            add_correction,
            check_upsampling,
            upsample,
        )

        num_styles = check_positive_int(num_styles, "num_styles")
        num_downsamplings = check_positive_int(num_downsamplings, "num_downsamplings")
        filters = check_positive_int(filters, "filters")
        max_filters = check_positive_int(max_filters, "max_filters")
        channels = check_positive_int(channels, "channels")
        upsampling = check_upsampling(upsampling)
        dropout = check_dropout(dropout)
        if norm not in _NORMS:
            raise ValueError(f"`norm` must be 'batch' or 'instance'; received {norm!r}.")
        if not isinstance(residual, bool):
            raise ValueError(f"`residual` must be True or False; received {residual!r}.")
        refine_layers = check_int(refine_layers, "refine_layers", low=0)
        init = keras.initializers.RandomNormal(0.0, 0.02)
        size_multiple = 2**num_downsamplings
        image_input = keras.Input(shape=(None, None, channels), name="image")
        images = ImageSizeCheck(size_multiple, name="check_size")(image_input)
        style = keras.Input(shape=(num_styles,), name="style")
        strength = keras.Input(shape=(1,), name="strength")

        def conditioned(x, block):
            if norm == "instance":
                return StyleConditionedNormalization(num_styles, name=f"{block}_norm")([x, style])
            x = layers.BatchNormalization(center=False, scale=False, name=f"{block}_bn")(x)
            return StyleAffine(num_styles, name=f"{block}_style")([x, style])

        widths = [min(filters * 2**i, max_filters) for i in range(num_downsamplings)]
        x, skips = images, []
        for index, width in enumerate(widths, start=1):
            x = layers.Conv2D(
                width,
                4,
                strides=2,
                padding="same",
                use_bias=False,
                kernel_initializer=init,
                name=f"down{index}",
            )(x)
            if index > 1:
                x = conditioned(x, f"down{index}")
            x = layers.LeakyReLU(0.2, name=f"down{index}_lrelu")(x)
            skips.append(x)
        for index, (width, skip) in enumerate(
            zip(reversed(widths[:-1]), reversed(skips[:-1]), strict=True), start=1
        ):
            x = upsample(
                x, width, 4, f"up{index}", upsampling, use_bias=False, kernel_initializer=init
            )
            x = conditioned(x, f"up{index}")
            if index <= 3 and dropout:
                x = layers.Dropout(dropout, name=f"up{index}_dropout")(x)
            x = layers.ReLU(name=f"up{index}_relu")(x)
            x = layers.Concatenate(name=f"skip{index}")([x, skip])
        # Up to full resolution, then the photo itself joins (skip{n}): the head sees every
        # pixel of the input, not only features of half its resolution.
        last = num_downsamplings
        x = upsample(
            x, filters, 4, f"up{last}", upsampling, use_bias=False, kernel_initializer=init
        )
        x = layers.ReLU(name=f"up{last}_relu")(conditioned(x, f"up{last}"))
        x = layers.Concatenate(name=f"skip{last}")([x, images])
        # Full-resolution layers: without them the only path from each pixel to the output
        # is the head's one linear 3x3 convolution (down1 already halves the resolution).
        for index in range(1, refine_layers + 1):
            # He initialisation: with the U-Net's N(0, 0.02) and no norm, these layers shrank
            # their input ~3x each and the residual head stayed near the identity for 2000
            # steps. Leaky: with plain ReLUs 97% of these units were dead after 2400 steps.
            x = layers.Conv2D(
                filters, 3, padding="same", kernel_initializer="he_normal", name=f"refine{index}"
            )(x)
            x = layers.LeakyReLU(0.2, name=f"refine{index}_lrelu")(x)
        if residual:
            # y = clip(photo + correction, -1, 1), the correction's kernel starting at zero: the
            # untrained generator is the identity, and training only learns what to change.
            correction = layers.Conv2D(
                channels,
                3,
                padding="same",
                activation="tanh",
                kernel_initializer="zeros",
                name="correction",
            )(x)
            styled = add_correction(images, correction, name="styled")
        else:
            styled = layers.Conv2D(
                channels,
                3,
                padding="same",
                activation="tanh",
                kernel_initializer=init,
                name="styled",
            )(x)
        outputs = blend_by_strength(images, styled, strength)
        super().__init__(
            inputs=[image_input, style, strength], outputs=outputs, name=name, **kwargs
        )
        self.size_multiple = size_multiple
        self._remember_config(
            num_styles=num_styles,
            num_downsamplings=num_downsamplings,
            filters=filters,
            max_filters=max_filters,
            channels=channels,
            upsampling=upsampling,
            dropout=dropout,
            norm=norm,
            residual=residual,
            refine_layers=refine_layers,
        )


def _check_style_weights(weights, count):
    """`weights` as a list of `count` finite non-negative floats, or None."""
    if weights is None:
        return None
    try:
        weights = [float(weight) for weight in weights]
    except (TypeError, ValueError):
        raise ValueError(
            f"`style_weights` must be a list of {count} numbers, one per style; received "
            f"{weights!r}."
        ) from None
    if len(weights) != count or not all(math.isfinite(w) and w >= 0 for w in weights):
        raise ValueError(
            f"`style_weights` must hold {count} finite non-negative numbers, one per style; "
            f"received {weights!r}."
        )
    return weights


def style_maps(images, style):
    """`images` with the style weights appended as constant channels: the condition a
    `PairedMultiStyle` discriminator sees beside the image it judges.

    Args:
        images: tensor (batch, H, W, C).
        style: tensor (batch, num_styles).

    Returns:
        (batch, H, W, C + num_styles) tensor of `images`' dtype.
    """
    images = tf.convert_to_tensor(images)
    style = tf.cast(style, images.dtype)
    shape = tf.shape(images)
    maps = tf.broadcast_to(
        style[:, None, None, :], tf.stack([shape[0], shape[1], shape[2], tf.shape(style)[-1]])
    )
    return tf.concat([images, maps], axis=-1)


def _unpack_paired_styled(data):
    """(source_images, target_images, style_indices) from a batch, or a clear error."""
    x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
    if y is None and sample_weight is None:
        data = x  # the three tensors came as one x, e.g. train_on_batch((x, y, k))
    elif sample_weight is None and isinstance(y, tuple | list):
        data = (x, *y)  # (photo, (target, index))
    else:
        data = (x, y, sample_weight)
    if not isinstance(data, tuple | list) or len(data) != 3 or any(d is None for d in data):
        raise ValueError(
            "PairedMultiStyle trains on (source_images, target_images, style_indices) batches: "
            "photos, the exact stylisation of each, and its style index."
        )
    source, target, indices = data
    return (
        tf.convert_to_tensor(source),
        tf.convert_to_tensor(target),
        tf.reshape(tf.cast(indices, tf.int32), [-1]),
    )


@keras.saving.register_keras_serializable(package=_PACKAGE)
class PairedMultiStyle(AdversarialModel):
    """One generator for several styles, trained on exact (photo, stylised photo) pairs.

    `fit` takes batches `(source_images, target_images, style_indices)`: photos, the exact
    stylisation of each in the style `style_names[k]`, and k. Each step, as pix2pix's: G renders
    every photo in its example's style at strength 1, once; D is updated on (condition, target)
    as real and (condition, G) as fake, its loss halved, where the condition is the photo with
    the style one-hot as constant channels (`style_maps`); then G is updated on the updated D's
    verdict plus `l1_weight` * |target - G|, with D's statistics put back. PSNR and SSIM of the
    renders against the targets are reported in `fit` and `evaluate`.

    Args:
        generator: keras.Model taking `{"image", "style", "strength"}` with `len(style_names)`
            style slots (a `StyleUNetGenerator`).
        discriminator: keras.Model taking `[condition, image]` with `channels + len(style_names)`
            condition channels (`PatchGANDiscriminator(conditional=True,
            condition_channels=3 + len(style_names))`).
        style_names: list of str. The styles, in index order.
        loss: str. Adversarial loss name. Defaults to "non_saturating" (pix2pix's).
        l1_weight: float. Weight of the reconstruction term. Defaults to 100 (pix2pix's
            lambda).
        reconstruction: str. "l1" (pix2pix's |target - G|, reported as `g_l1_loss`) or "l2"
            (the squared error, `g_l2_loss`: restoration, scored by PSNR; see
            `losses.l2_loss`). Defaults to "l1".
        style_weights: list of floats, one per style, or None. Each example's reconstruction
            term is multiplied by its style's weight: styles whose errors differ in scale
            (restoration tasks: a gray copy is ~50x further from the photo than a bicubic
            upsampling) then pull on G alike. None weighs every style 1. Defaults to None.
        explanation_guidance, locality_weight: float. Explanation-guided training (see
            `AdversarialModel`). Default to 0 (off).
        seed: int. Seed of the model's random stream. Defaults to None.
        name: str. Defaults to "multistyle_paired".

    References:
        Isola et al., "Image-to-Image Translation with Conditional Adversarial Networks", 2017.
    """

    def __init__(
        self,
        generator,
        discriminator,
        style_names,
        loss="non_saturating",
        l1_weight=100.0,
        reconstruction="l1",
        style_weights=None,
        explanation_guidance=0.0,
        locality_weight=0.0,
        seed=None,
        name="multistyle_paired",
        **kwargs,
    ):
        super().__init__(
            networks={"generator": generator, "discriminator": discriminator},
            loss=loss,
            seed=seed,
            seed_name="multistyle_paired_seed",
            explanation_guidance=explanation_guidance,
            locality_weight=locality_weight,
            name=name,
            **kwargs,
        )
        style_names = [str(n) for n in style_names]
        if not style_names or len(set(style_names)) != len(style_names):
            raise ValueError(f"style_names must be distinct names; received {style_names!r}.")
        if len(generator.inputs or []) != 3:
            raise ValueError(
                "PairedMultiStyle needs a generator taking {'image', 'style', 'strength'}; "
                f"{generator.name!r} takes {len(generator.inputs or [])} inputs."
            )
        slots = int(named_input(generator, "style", 1).shape[-1])
        if slots != len(style_names):
            raise ValueError(
                f"the generator has {slots} style slots; {len(style_names)} styles need "
                f"{len(style_names)}."
            )
        channels = int(named_input(generator, "image", 0).shape[-1])
        if len(discriminator.inputs or []) != 2:
            raise ValueError(
                "PairedMultiStyle needs a conditional discriminator taking [condition, image]; "
                f"{discriminator.name!r} takes {len(discriminator.inputs or [])} inputs. Use "
                f"PatchGANDiscriminator(conditional=True, condition_channels={channels + slots})."
            )
        condition_channels = int(named_input(discriminator, "condition", 0).shape[-1])
        if condition_channels != channels + slots:
            raise ValueError(
                f"the discriminator's condition has {condition_channels} channels; the photo "
                f"and {slots} style maps make {channels + slots} (PatchGANDiscriminator("
                f"conditional=True, condition_channels={channels + slots}))."
            )
        self._style_names = style_names
        self.l1_weight = check_weight(l1_weight, "l1_weight")
        if reconstruction not in _RECONSTRUCTIONS:
            raise ValueError(f"`reconstruction` must be 'l1' or 'l2'; received {reconstruction!r}.")
        self.reconstruction = reconstruction
        self.style_weights = _check_style_weights(style_weights, len(style_names))
        self._make_trackers(
            [
                "g_loss",
                "g_adversarial_loss",
                f"g_{reconstruction}_loss",
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

    family = "multistyle_paired"
    batch_keys = ("source_images", "target_images", "indices")
    generator_input_key = "source_images"
    real_image_key = "target_images"

    @property
    def style_names(self):
        return list(self._style_names)

    @property
    def generator_style_names(self):
        return list(self._style_names)

    def unpack_batch(self, data):
        source, target, indices = _unpack_paired_styled(data)
        return {"source_images": source, "target_images": target, "indices": indices}

    def _one_hot(self, indices, dtype):
        indices = tf.reshape(tf.cast(indices, tf.int32), [-1])
        return tf.one_hot(indices, len(self._style_names), dtype=dtype)

    def generator_inputs(self, batch):
        source = tf.convert_to_tensor(batch["source_images"])
        return {
            "image": source,
            "style": self._one_hot(batch["indices"], source.dtype),
            "strength": tf.ones([tf.shape(source)[0], 1], source.dtype),
        }

    def _condition(self, source_images, indices):
        source_images = tf.convert_to_tensor(source_images)
        return style_maps(source_images, self._one_hot(indices, source_images.dtype))

    def content_batch(self, images, style_index=0):
        images = tf.convert_to_tensor(images)
        return {
            "source_images": images,
            "indices": tf.fill([tf.shape(images)[0]], tf.cast(style_index, tf.int32)),
        }

    def discriminator_condition(self, images, style_index=0):
        batch = self.content_batch(images, style_index)
        return self._condition(batch["source_images"], batch["indices"])

    def discriminator_inputs(self, batch):
        condition = self._condition(batch["source_images"], batch["indices"])
        return [condition, tf.convert_to_tensor(batch["target_images"])]

    def discriminator_logits(self, images, batch=None, direction=None, training=False):
        """D's logits on `images` conditioned on `batch["source_images"]` and `batch["indices"]`."""
        self._check_direction(direction)
        if batch is None or "source_images" not in batch or "indices" not in batch:
            raise ValueError(
                "a PairedMultiStyle discriminator judges images given the photo and the style: "
                "pass the batch holding `source_images` and `indices`."
            )
        condition = self._condition(batch["source_images"], batch["indices"])
        return self._discriminate(condition, images, training)

    def render(self, images, style_indices, strength=1.0, training=False):
        """G(x, s, strength) for one style index per image."""
        images = tf.convert_to_tensor(images)
        strength = tf.fill([tf.shape(images)[0], 1], tf.cast(strength, images.dtype))
        style = self._one_hot(style_indices, images.dtype)
        return self.generator(
            {"image": images, "style": style, "strength": strength}, training=training
        )

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def _discriminate(self, condition, images, training):
        pair = [tf.convert_to_tensor(condition), tf.convert_to_tensor(images)]
        return tf.cast(self.discriminator(pair, training=training), tf.float32)

    def discriminator_terms(self, condition, target_images, fake_images, training):
        real_logits = self._discriminate(condition, target_images, training)
        fake_logits = self._discriminate(condition, fake_images, training)
        terms = {
            "d_real_loss": self.adversarial_loss.real_half(real_logits),
            "d_fake_loss": self.adversarial_loss.fake_half(fake_logits),
        }
        terms["d_loss"] = 0.5 * (terms["d_real_loss"] + terms["d_fake_loss"])  # as pix2pix
        threshold = self.adversarial_loss.decision_threshold
        terms["d_real_accuracy"] = tf.cast(
            gan_losses.per_example_mean(real_logits) > threshold, tf.float32
        )
        terms["d_fake_accuracy"] = tf.cast(
            gan_losses.per_example_mean(fake_logits) <= threshold, tf.float32
        )
        return terms

    def generator_terms(
        self, source_images, condition, target_images, fake_images, training, indices=None
    ):
        def discriminate(images):  # D in inference mode, for the explanation options
            return self._discriminate(condition, images, False)

        judged = self._guide(discriminate, fake_images, training)
        terms = {
            "g_adversarial_loss": self.adversarial_loss.generator(
                self._discriminate(condition, judged, training)
            ),
        }
        key = f"g_{self.reconstruction}_loss"
        terms[key] = _RECONSTRUCTIONS[self.reconstruction](target_images, fake_images)
        if self.style_weights is not None:
            if indices is None:
                raise ValueError("weighing the styles' reconstruction terms needs `indices`.")
            weights = tf.constant(self.style_weights, terms[key].dtype)
            terms[key] = terms[key] * tf.gather(weights, tf.reshape(indices, [-1]))
        terms["g_loss"] = terms["g_adversarial_loss"] + self.l1_weight * terms[key]
        return self._add_locality(terms, discriminate, source_images, fake_images)

    @staticmethod
    def _quality_terms(target_images, fake_images):
        fake_images = tf.stop_gradient(fake_images)
        return {
            "psnr": image_psnr(target_images, fake_images),
            "ssim": image_ssim(target_images, fake_images),
        }

    def compute_losses(self, source_images, target_images, indices, training=False):
        """Every term for one batch (per example), as `train_step` reports them."""
        condition = self._condition(source_images, indices)
        fake = self.render(source_images, indices, 1.0, training=training)
        terms = self.discriminator_terms(condition, target_images, fake, training)
        terms.update(
            self.generator_terms(source_images, condition, target_images, fake, training, indices)
        )
        terms.update(self._quality_terms(target_images, fake))
        return terms

    def train_step(self, data):
        # 1. Unpack photos x, targets y and style indices k; the condition c = [x, onehot(k)].
        # 2. Render G(x, k, 1) once, recorded for G's gradient.
        # 3. Update D alone on (c, y) real and (c, G) fake (G detached), loss halved.
        # 4. With D's statistics saved, update G alone on the updated D's verdict of (c, G) plus
        #    l1_weight * |y - G|; put D's statistics back.
        # 5. Report every term and PSNR / SSIM of G against y, over the global batch.
        self._require_compiled()
        source, target, indices = _unpack_paired_styled(data)
        condition = self._condition(source, indices)
        terms, fake = self._discriminator_then_generator_step(
            lambda: self.render(source, indices, 1.0, training=True),
            lambda fakes: self.discriminator_terms(condition, target, fakes, True),
            lambda fakes: self.generator_terms(source, condition, target, fakes, True, indices),
        )
        terms.update(self._quality_terms(target, fake))
        return self._update_trackers(terms)

    def test_step(self, data):
        source, target, indices = _unpack_paired_styled(data)
        logs = self._update_trackers(self.compute_losses(source, target, indices))
        logs.update(
            self._update_image_metrics(
                target, lambda: self.render(source, indices, 1.0), style_indices=indices
            )
        )
        return logs
