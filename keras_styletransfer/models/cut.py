"""Contrastive unpaired translation: CUT and FastCUT (Park et al., 2020).

One generator G: A -> B and one discriminator D judging domain B, with no second generator and
no cycle: G(x) must keep x's content because every patch of G(x), encoded by G's own encoder,
must be matched to the patch of x at the same place rather than to x's other patches
(`losses.patch_nce_loss`). CUT adds the same term on target images (G(y) must keep y: the
"identity" NCE); FastCUT drops it, weights the NCE term 10x and may ask G to commute with a
left-right flip.

Paper symbols to code names: G is `generator` (G_enc is its layers up to the deepest of
`nce_layers`), D is `discriminator`, H_l (the 2-layer MLP per layer) is
`generator_projection`,
lambda_X is `nce_weight`, tau is `temperature`, N (locations per layer) is `num_patches`.
Images are in [-1, 1].
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf
from keras import layers

from keras_styletransfer import losses as gan_losses
from keras_styletransfer.augment import check_policies, diff_augment
from keras_styletransfer.images import image_psnr, image_ssim
from keras_styletransfer.models.adversarial import AdversarialModel, unpack_pair
from keras_styletransfer.models.base import GraphModel, as_tuple
from keras_styletransfer.validation import check_positive_int, check_positive_number, check_weight

_PACKAGE = "keras_styletransfer"


@keras.saving.register_keras_serializable(package=_PACKAGE)
class PatchProjection(GraphModel):
    """CUT's feature heads H_l: one Dense(units) -> ReLU -> Dense(units) per feature layer.

    Takes a list with one tensor `(batch, locations, channels[l])` per layer (features sampled
    at some locations) and returns one `(batch, locations, units)` tensor per layer.

    Args:
        channels: tuple of int. Feature channels of each layer.
        units: int. Width of both Dense layers. Defaults to 256 (the reference's).
        name: str. Defaults to "patch_projection".
    """

    def __init__(self, channels, units=256, name="patch_projection", **kwargs):
        channels = as_tuple(channels, "channels")
        units = check_positive_int(units, "units")
        inputs = [keras.Input(shape=(None, c), name=f"features{i}") for i, c in enumerate(channels)]
        outputs = []
        for index, features in enumerate(inputs):
            hidden = layers.Dense(units, activation="relu", name=f"mlp{index}_hidden")(features)
            outputs.append(layers.Dense(units, name=f"mlp{index}_out")(hidden))
        super().__init__(inputs=inputs, outputs=outputs, name=name, **kwargs)
        self._remember_config(channels=channels, units=units)


def default_nce_layers(generator):
    """The layers of `generator` whose features PatchNCE compares, as the reference picks them.

    ResnetGenerator: the image itself (`check_size`), both down-sampling convolutions (the
    stem's output when it has none) and the first and middle residual blocks (the
    reference's layers 0, 4, 8, 12, 16 of ResNet-9).
    UNetGenerator: the image and the first four down-sampling convolutions.
    FilterGenerator: its own `nce_layers` (the photo and its per-pixel network's layers).

    Raises:
        ValueError: for another generator; pass `nce_layers` by name.
    """
    from keras_styletransfer.models.filters import FilterGenerator
    from keras_styletransfer.models.generators import ResnetGenerator, UNetGenerator

    if isinstance(generator, FilterGenerator):
        return generator.nce_layers
    config = generator.get_config()
    if isinstance(generator, ResnetGenerator):
        blocks = config["num_residual_blocks"]
        # Without down-sampling stages, the stem's features stand in for theirs.
        downs = [f"down{i}" for i in range(1, config["num_downsamplings"] + 1)] or ["stem_relu"]
        residual = dict.fromkeys(["res1_add", f"res{math.ceil(blocks / 2)}_add"])
        return ("check_size", *downs, *residual)
    if isinstance(generator, UNetGenerator):
        downs = min(4, config["num_downsamplings"])
        return ("check_size", *(f"down{i}" for i in range(1, downs + 1)))
    raise ValueError(
        f"no default `nce_layers` for a {type(generator).__name__}; pass the names of a few "
        "encoder layers of the generator, e.g. nce_layers=('down1', 'down2')."
    )


@keras.saving.register_keras_serializable(package=_PACKAGE)
class CUT(AdversarialModel):
    """Contrastive unpaired translation, CUT or FastCUT (Park et al.).

    `fit` takes batches `(images_a, images_b)` drawn independently from the two domains, as
    `CycleGAN` does. Each step, as in the reference implementation: G translates a (and, with
    `nce_identity`, b) once; D is updated on b as real and G(a) (detached) as fake, its
    least-squares loss halved; then G and the heads H_l are updated together on D's verdict of
    G(a) plus `nce_weight` * PatchNCE(a, G(a)) (averaged with PatchNCE(b, G(b)) when
    `nce_identity`), judged by the updated D whose statistics are put back afterwards. PatchNCE
    is averaged over `nce_layers`; at each layer `num_patches` locations are drawn, the same for
    x and G(x). `evaluate` on `(images_a, truth_b)` pairs also reports PSNR and SSIM of G(a).

    The heads are the role `generator_projection`, a generator-side network trained by the
    generator optimizer (Adam is per variable, so one Adam over G and H is the reference's two
    Adams with the same settings).

    Args:
        generator: keras.Model. G: A -> B, a functional graph whose `nce_layers` are reachable.
        discriminator: keras.Model. D, judges domain B (an unconditional PatchGAN).
        generator_projection: keras.Model or None. The heads H_l (`PatchProjection`); None
            builds one with 256 units for the generator's `nce_layers`. Defaults to None.
        loss: str. Adversarial loss name. Defaults to "least_squares" (the reference's).
        nce_weight: float. lambda_X. Defaults to 1 (CUT; FastCUT uses 10).
        nce_identity: bool. Add PatchNCE(b, G(b)) (CUT); False for FastCUT. Defaults to True.
        nce_layers: sequence of str or None. Layer names of G whose outputs are compared;
            None picks `default_nce_layers(generator)`. Defaults to None.
        num_patches: int. Locations drawn per layer. Defaults to 256.
        temperature: float. tau. Defaults to 0.07.
        flip_equivariance: bool. In training, flip G's input left-right with probability 0.5
            and compare the flipped-back features of G's output with the unflipped input's
            (FastCUT's option). Defaults to False.
        explanation_guidance, locality_weight: float. Explanation-guided training (see
            `AdversarialModel`). Default to 0 (off).
        augment: str, tuple of str or None. Differentiable augmentations ("translation",
            "cutout") of every image D judges in training, real and generated (see `CycleGAN`).
            Defaults to None (off).
        colour_weight: float. Weight of a colour term: the mean absolute difference between
            the output's and the photo's `colour_pool` x `colour_pool` averages, so the
            output keeps the photo's coarse colours and changes only what is finer (for
            styles that keep the photo's colours, such as watercolour or oil; not for pencil
            or ink). Defaults to 0 (off, the reference's).
        colour_pool: int. Side in pixels of the averages the colour term compares.
            Defaults to 8.
        r1_weight: float. gamma of an R1 penalty on D's real images (`losses.r1_penalty`,
            Mescheder et al. 2018, on D's verdict: the mean of its patch logits), added to
            D's loss: it keeps D smooth around the paintings, so that D cannot win outright
            and G's gradient keeps a direction. Not with `flip_equivariance`.
            Defaults to 0 (off, the reference's).
        seed: int. Seed of the model's random stream (locations, flips). Defaults to None.
        name: str. Defaults to "cut".

    Example:
        >>> model = CUT(ResnetGenerator(6, 32, upsampling="resize"), PatchGANDiscriminator(2, 32))
        >>> model.compile()
        >>> model.fit(tf.data.Dataset.zip((photos, paintings)).batch(4), epochs=10)

    References:
        Park, Efros, Zhang and Zhu, "Contrastive Learning for Unpaired Image-to-Image
        Translation", ECCV 2020.
    """

    family = "cut"
    # The heads are a generator-side network: trained by G's optimizer on G's loss.
    network_roles = ("generator", "generator_projection", "discriminator")
    batch_keys = ("images_a", "images_b")
    generator_input_key = "images_a"
    real_image_key = "images_b"

    def __init__(
        self,
        generator,
        discriminator,
        generator_projection=None,
        loss="least_squares",
        nce_weight=1.0,
        nce_identity=True,
        nce_layers=None,
        num_patches=256,
        temperature=0.07,
        flip_equivariance=False,
        explanation_guidance=0.0,
        locality_weight=0.0,
        augment=None,
        colour_weight=0.0,
        colour_pool=8,
        r1_weight=0.0,
        seed=None,
        name="cut",
        **kwargs,
    ):
        nce_layers = tuple(nce_layers) if nce_layers else default_nce_layers(generator)
        feature_model = _feature_model(generator, nce_layers)
        channels = tuple(int(t.shape[-1]) for t in feature_model.outputs)
        projection = generator_projection
        if projection is None:
            projection = PatchProjection(channels, name="patch_projection")
        if tuple(projection.get_config().get("channels", ())) != channels:
            raise ValueError(
                f"the projection takes features of {projection.get_config().get('channels')} "
                f"channels but the layers {list(nce_layers)} have {list(channels)}; pass "
                "generator_projection=None to build a matching one."
            )
        super().__init__(
            networks={
                "generator": generator,
                "generator_projection": projection,
                "discriminator": discriminator,
            },
            loss=loss,
            seed=seed,
            seed_name="cut_seed",
            explanation_guidance=explanation_guidance,
            locality_weight=locality_weight,
            name=name,
            **kwargs,
        )
        self.augment = check_policies(augment)
        self.nce_weight = check_weight(nce_weight, "nce_weight")
        for flag, value in (
            ("nce_identity", nce_identity),
            ("flip_equivariance", flip_equivariance),
        ):
            if not isinstance(value, bool):
                raise ValueError(f"`{flag}` must be True or False; received {value!r}.")
        self.nce_identity = nce_identity
        self.flip_equivariance = flip_equivariance
        self.colour_weight = check_weight(colour_weight, "colour_weight")
        self.colour_pool = check_positive_int(colour_pool, "colour_pool")
        self.r1_weight = check_weight(r1_weight, "r1_weight")
        if self.r1_weight and flip_equivariance:
            # Measured: with both, two replicas' update of G's first layer differs from one
            # device's by ~1e-3 after two steps (each alone matches); not yet explained.
            raise ValueError(
                "`r1_weight` with `flip_equivariance=True` (FastCUT) is not supported: under a "
                "distribution strategy it does not reproduce one device's update. Use "
                "r1_weight with CUT (flip_equivariance=False), or r1_weight=0."
            )
        self.nce_layers = nce_layers
        self.num_patches = check_positive_int(num_patches, "num_patches")
        self.temperature = check_positive_number(temperature, "temperature")
        # Sub-graphs of G sharing its layers (not tracked: G's weights are saved once, as G's).
        object.__setattr__(self, "_features", feature_model)
        object.__setattr__(
            self,
            "_generator_and_features",
            keras.Model(generator.inputs, [generator.outputs[0], *feature_model.outputs]),
        )
        names = ["g_loss", "g_adversarial_loss", "nce_loss"]
        names += ["nce_identity_loss"] if nce_identity else []
        names += ["colour_loss"] if self.colour_weight else []
        names += ["d_loss", "d_real_loss", "d_fake_loss", "d_real_accuracy", "d_fake_accuracy"]
        names += ["d_r1_penalty"] if self.r1_weight else []
        self._make_trackers([*names, "psnr", "ssim"])
        self.built = True

    def unpack_batch(self, data):
        images_a, images_b = unpack_pair(data, "CUT")
        return {"images_a": images_a, "images_b": images_b}

    def call(self, images_a, training=False):
        """G(a): domain A to domain B."""
        return self.generator(images_a, training=training)

    # --- the terms -------------------------------------------------------------------------------

    def _discriminate(self, images, training):
        if training and self.augment:
            images = diff_augment(images, self.augment, self.seed_generator)
        return tf.cast(self.discriminator(images, training=training), tf.float32)

    def _draw_flip(self, training):
        """Whether this training step flips G's input (FastCUT's flip equivariance)."""
        if not (training and self.flip_equivariance):
            return None
        return keras.random.uniform((), seed=self.seed_generator) < 0.5

    def _translate(self, images_a, images_b, flip, training):
        """G on a (and b, for the identity term) once: `(outputs, key features of the inputs)`."""
        inputs = tf.concat([images_a, images_b], axis=0) if self.nce_identity else images_a
        shown = inputs if flip is None else tf.where(flip, tf.reverse(inputs, [2]), inputs)
        outputs, *keys = self._generator_and_features(shown, training=training)
        if flip is not None:  # the keys of the unflipped input, as the reference compares
            keys = self._features(inputs, training=training)
        return outputs, list(keys)

    def _sample_locations(self, count, layer, training):
        """`min(num_patches, count)` distinct location indices; training draws from the
        model's stream, evaluation a fixed set (it must not move training's random state)."""
        if training:
            scores = keras.random.uniform((count,), seed=self.seed_generator)
        else:
            seed = tf.constant([self.seed or 0, layer], tf.int32)
            scores = tf.random.stateless_uniform(tf.reshape(count, [1]), seed=seed)
        return tf.argsort(scores)[: tf.minimum(self.num_patches, count)]

    def patch_nce(self, queries, keys, training=False):
        """Per-example PatchNCE averaged over the layers, from feature maps of G(x) (queries)
        and x (keys), one pair of `(batch, H, W, C)` maps per layer."""
        sampled_queries, sampled_keys = [], []
        for layer, (query, key) in enumerate(zip(queries, keys, strict=True)):
            shape = tf.shape(query)
            count = shape[1] * shape[2]
            where = self._sample_locations(count, layer, training)
            for maps, sampled in ((query, sampled_queries), (key, sampled_keys)):
                flat = tf.reshape(maps, [shape[0], count, maps.shape[-1]])
                sampled.append(tf.gather(flat, where, axis=1))
        projected_queries = _as_list(self.generator_projection(sampled_queries, training=training))
        projected_keys = _as_list(self.generator_projection(sampled_keys, training=training))
        per_layer = [
            gan_losses.patch_nce_loss(q, k, self.temperature)
            for q, k in zip(projected_queries, projected_keys, strict=True)
        ]
        return tf.add_n(per_layer) / len(per_layer)

    def discriminator_terms(self, images_b, fake_b, training):
        real_logits = self._discriminate(images_b, training)
        fake_logits = self._discriminate(fake_b, training)
        half = self.adversarial_loss
        terms = {
            "d_real_loss": half.real_half(real_logits),
            "d_fake_loss": half.fake_half(fake_logits),
            "d_real_accuracy": tf.cast(
                gan_losses.per_example_mean(real_logits) > half.decision_threshold, tf.float32
            ),
            "d_fake_accuracy": tf.cast(
                gan_losses.per_example_mean(fake_logits) <= half.decision_threshold, tf.float32
            ),
        }
        terms["d_loss"] = 0.5 * (terms["d_real_loss"] + terms["d_fake_loss"])
        if self.r1_weight:
            # On the real images themselves (not augmented): the slope of D's verdict at the
            # paintings, the verdict being the mean over D's patches as in its loss (the sum
            # would weigh the penalty by the square of the patch count).
            def verdict(images, training):
                return gan_losses.per_example_mean(self.discriminator(images, training=training))

            terms["d_r1_penalty"] = gan_losses.r1_penalty(verdict, images_b)
            terms["d_loss"] += self.r1_weight * terms["d_r1_penalty"]
        return terms

    def generator_terms(self, images_a, outputs, keys, flip, training):
        """G's terms per example of a: adversarial, PatchNCE (and its identity half)."""
        count = tf.shape(images_a)[0]
        fake_b = outputs[:count]

        def discriminate(images):  # D in inference mode, for the explanation options
            return self._discriminate(images, False)

        fake_logits = self._discriminate(self._guide(discriminate, fake_b, training), training)
        queries = _as_list(self._features(outputs, training=training))
        if flip is not None:
            queries = [tf.where(flip, tf.reverse(q, [2]), q) for q in queries]
        nce = self.patch_nce(queries, keys, training)
        terms = {
            "g_adversarial_loss": self.adversarial_loss.generator(fake_logits),
            "nce_loss": nce[:count],
        }
        contrastive = terms["nce_loss"]
        if self.nce_identity:
            terms["nce_identity_loss"] = nce[count:]
            contrastive = 0.5 * (terms["nce_loss"] + terms["nce_identity_loss"])
        terms["g_loss"] = terms["g_adversarial_loss"] + self.nce_weight * contrastive
        if self.colour_weight:
            shown = (
                images_a if flip is None else tf.where(flip, tf.reverse(images_a, [2]), images_a)
            )
            terms["colour_loss"] = colour_difference(fake_b, shown, self.colour_pool)
            terms["g_loss"] += self.colour_weight * terms["colour_loss"]
        return self._add_locality(terms, discriminate, images_a, fake_b)

    def compute_losses(self, images_a, images_b, training=False):
        """Every term for one batch (per example), as `train_step` reports them."""
        images_a = tf.convert_to_tensor(images_a)
        images_b = tf.convert_to_tensor(images_b)
        outputs, keys = self._translate(images_a, images_b, None, training)
        fake_b = outputs[: tf.shape(images_a)[0]]
        terms = self.discriminator_terms(images_b, fake_b, training)
        terms.update(self.generator_terms(images_a, outputs, keys, None, training))
        return terms

    def train_step(self, data):
        # 1. Unpack (a, b), two independent batches of the two domains; FastCUT may draw a flip.
        # 2. G runs once on a (and b for the identity term), recorded for G's gradient; the
        #    input's features at `nce_layers` come from the same pass.
        # 3. Update D alone on b real vs G(a) fake (detached), loss halved.
        # 4. With D's statistics saved, update G and H on D's verdict of G(a) (updated D) plus
        #    nce_weight * PatchNCE; put D's statistics back.
        # 5. Report every term over the global batch.
        self._require_compiled()
        images_a, images_b = unpack_pair(data, "CUT")
        flip = self._draw_flip(training=True)
        forward = {}

        def make_fakes():
            outputs, forward["keys"] = self._translate(images_a, images_b, flip, True)
            return outputs

        count = tf.shape(images_a)[0]
        terms, _ = self._discriminator_then_generator_step(
            make_fakes,
            lambda outputs: self.discriminator_terms(images_b, outputs[:count], True),
            lambda outputs: self.generator_terms(images_a, outputs, forward["keys"], flip, True),
        )
        return self._update_trackers(terms)

    def test_step(self, data):
        images_a, images_b = unpack_pair(data, "CUT")
        terms = self.compute_losses(images_a, images_b)
        fake_b = self.generator(images_a, training=False)
        terms["psnr"] = image_psnr(images_b, fake_b)
        terms["ssim"] = image_ssim(images_b, fake_b)
        logs = self._update_trackers(terms)
        logs.update(self._update_image_metrics(images_b, lambda: fake_b))
        return logs


def colour_difference(outputs, photos, pool):
    """Per example: the mean absolute difference of the `pool` x `pool` averages of two
    image batches (float32), i.e. how far the coarse colours moved."""

    def averages(images):
        return tf.nn.avg_pool2d(tf.cast(images, tf.float32), pool, pool, "SAME")

    return tf.reduce_mean(tf.abs(averages(outputs) - averages(photos)), axis=[1, 2, 3])


def _feature_model(generator, layer_names):
    """G's encoder as a model returning the outputs of `layer_names` (sharing G's layers)."""
    if not getattr(generator, "inputs", None):
        raise ValueError(
            "CUT compares features of the generator's own layers: pass a functional generator "
            f"(e.g. ResnetGenerator); {generator.name!r} has no graph inputs."
        )
    outputs = []
    for name in layer_names:
        try:
            outputs.append(generator.get_layer(name).output)
        except ValueError:
            raise ValueError(
                f"the generator {generator.name!r} has no layer {name!r} for `nce_layers`; "
                "choose among its layer names (model.summary())."
            ) from None
    return keras.Model(generator.inputs, outputs, name=f"{generator.name}_features")


def _as_list(outputs):
    return list(outputs) if isinstance(outputs, list | tuple) else [outputs]
