"""What every adversarial wrapper shares: two optimizers, trackers, resumable random state.

`GAN`, `Pix2Pix`, `CycleGAN` and `MultiStyleGAN` hold one or more generators and discriminators.
Each has exactly two optimizers: `generator_optimizer` over every generator variable and
`discriminator_optimizer` over every discriminator variable (as the CycleGAN reference chains
G and F into one Adam). This base class makes `compile`, the compile config of a `.keras` file, the
metric trackers and the saving of random-number state the same for all of them.
"""

from __future__ import annotations

from typing import ClassVar

import keras
import tensorflow as tf

from keras_styletransfer.losses import (
    get_adversarial_loss,
    guide_images,
    locality_penalty,
    per_example_mean,
    reduce_over_global_batch,
    saliency_mask,
)
from keras_styletransfer.replicas import as_step_logs
from keras_styletransfer.validation import check_positive_int, check_weight


def default_optimizer():
    """Adam(2e-4, beta_1=0.5), the DCGAN / pix2pix / CycleGAN setting."""
    return keras.optimizers.Adam(learning_rate=2e-4, beta_1=0.5)


def is_seed_state(variable):
    """Whether a variable is a random-seed state (dropout's), not a learned weight or statistic."""
    return "seed_generator_state" in variable.path


def build_optimizer(optimizer, variables):
    """Create an optimizer's slot variables now (lazy creation breaks under MirroredStrategy)."""
    if not optimizer.built:
        optimizer.build(variables)


def first_batch(data):
    if isinstance(data, tf.data.Dataset):
        for batch in data.take(1):
            return batch
        raise ValueError("the dataset is empty; pass a dataset with at least one batch.")
    if hasattr(data, "__next__"):
        return next(data)
    return data


def check_model(model, name):
    if not isinstance(model, keras.Model):
        raise TypeError(f"`{name}` must be a keras.Model; received {type(model).__name__}.")
    return model


class AdversarialModel(keras.Model):
    """Base of the adversarial wrappers: the one contract every family keeps.

    What callers (training runs, serving, fusion, fine-tuning, explain) may rely on, and nothing
    else:

    - `family`: "gan", "pix2pix", "cyclegan", "cut", "fastcut", "multistyle" or
      "multistyle_paired".
    - `networks`: dict role -> network (`{"generator": G, "discriminator": D}`; a CycleGAN has
      `generator_ab`, `generator_ba`, `discriminator_a`, `discriminator_b`).
      `generator_networks()` / `discriminator_networks()` list them by kind.
    - `directions`: the translations the model makes, `(None,)` or `("AB", "BA")`.
      `primary_generator(direction=None)` and `primary_discriminator(direction=None)` are the
      generator of that direction and the discriminator that judges its outputs (a CycleGAN's
      "AB" is G and D_B).
    - `style_names`: the target styles the generator renders by name (empty for one-mapping
      models); `generator_style_names`: the generator's style slots (None unless it takes a
      style input).
    - `batch_keys`: the names of one batch's tensors, in order, which are also the arguments of
      `compute_losses(**batch, training=False)`, returning a dict of per-example terms with at
      least `g_loss` and `d_loss`. `unpack_batch(data)` turns a batch as `fit` receives it into
      that dict; `probe_batch(data, size, seed)` keeps the first `size` examples as NumPy arrays
      (a noise GAN draws fixed noise).
    - `generator_input_key` / `real_image_key`: the batch entries that are the primary
      generator's input image (None for a noise GAN) and the real images the primary
      discriminator judges.
    - `generator_inputs(batch)` / `discriminator_inputs(batch)`: what the primary networks are
      called with on the batch's real data; `generate(batch, training=False)`: the primary
      generator's outputs on the batch.
    - `adversarial_loss`: the loss pair in use (`losses.AdversarialLoss`: `generator`,
      `real_half`, `fake_half`, `decision_threshold`).
    - `random_states()`: every random-number state training advances (saved with the model).
    - `discriminator_logits(images, batch=None, direction=None, training=False)`: the primary
      discriminator's float32 adversarial logits on `images` (a conditional discriminator takes
      its condition from `batch`); `content_batch(images, style_index)` and
      `discriminator_condition(images, style_index)`: a batch, and a conditional D's condition,
      from content images alone; `fake_logits(batch, training)`: D's logits on G's outputs, one
      tensor per direction; `real_verdict(batch, training)`: `(real images, D's mean logit per
      image)`.

    Subclasses list their networks' attribute names in `network_roles`, pass the networks and
    the arguments every family shares to `AdversarialModel.__init__` (which stores them), store
    every other constructor argument as the attribute of the same name, which is what
    `get_config` saves, call `self._make_trackers(names)` in `__init__`, and implement the
    batch-dependent methods.

    Every family takes two options of explanation-guided training (`losses.guide_images`,
    `losses.locality_penalty`): `explanation_guidance` (float, xAI-GAN: G's gradient on the images
    D judges is multiplied by `1 + weight * mask`, mask = D's saliency of them) and, in the
    translation families, `locality_weight` (float, weight of `mean((1 - mask) * |G(x) - x|)`,
    edits outside the region D's saliency marks, tracked as `locality_loss`). Both default to 0:
    off, and training is bit-identical to a model without them.
    """

    family = None
    network_roles = ("generator", "discriminator")
    directions = (None,)
    batch_keys = ()
    generator_input_key = None
    real_image_key = None

    def __init__(
        self,
        *,
        networks,
        loss,
        seed,
        seed_name,
        explanation_guidance=0.0,
        locality_weight=0.0,
        **kwargs,
    ):
        """Check and store what every family's constructor shares.

        Args:
            networks: dict. role -> `keras.Model`, stored as the attribute `role`.
            loss: str. The adversarial loss's name (`losses.get_adversarial_loss`), stored as
                `loss_name`; the loss pair as `adversarial_loss`.
            seed: int. Seed of `seed_generator`, the wrapper's checkpointed random state.
            seed_name: str. Name of `seed_generator`.
            explanation_guidance, locality_weight: float. See `_set_explanation_options`.
            **kwargs: passed to `keras.Model` (name, dtype, ...).
        """
        super().__init__(**kwargs)
        for role, network in networks.items():
            setattr(self, role, check_model(network, role))
        self.loss_name = loss
        self.adversarial_loss = get_adversarial_loss(loss)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed, name=seed_name)
        self._set_explanation_options(explanation_guidance, locality_weight)

    @property
    def networks(self):
        """`{role: network}`, in `network_roles` order."""
        return {role: getattr(self, role) for role in self.network_roles}

    def generator_networks(self):
        return [net for role, net in self.networks.items() if role.startswith("generator")]

    def discriminator_networks(self):
        return [net for role, net in self.networks.items() if role.startswith("discriminator")]

    @property
    def style_names(self):
        return ()

    @property
    def generator_style_names(self):
        return None

    def _check_direction(self, direction):
        if (
            direction is not None
            and direction not in self.directions
            and not (direction == "AB" and self.directions == (None,))
        ):
            choices = [d for d in self.directions if d is not None] or [None]
            raise ValueError(
                f"a {type(self).__name__} has the directions {choices}; received {direction!r}."
            )
        if direction is None or self.directions == (None,):
            return self.directions[0]
        return direction

    def primary_generator(self, direction=None):
        self._check_direction(direction)
        return self.networks["generator"]

    def primary_discriminator(self, direction=None):
        self._check_direction(direction)
        return self.networks["discriminator"]

    # --- batches ------------------------------------------------------------------------------

    def unpack_batch(self, data):
        """A batch as `fit` receives it -> `{key: tensor}` with the keys `batch_keys`."""
        raise NotImplementedError

    def probe_batch(self, data, size=8, seed=0):
        """A fixed batch of at most `size` examples as NumPy arrays, from a batch, a
        `tf.data.Dataset` or an iterator (its first batch).

        Raises:
            ValueError: no data, or a batch that does not fit the model.
        """
        import numpy as np

        if data is None:
            raise ValueError(
                "a probe needs data: one batch like those `fit` receives, or a dataset."
            )
        size = check_positive_int(size, "the probe size")
        batch = first_batch(data)
        try:
            tensors = self.unpack_batch(batch)
        except (ValueError, TypeError) as error:
            raise ValueError(f"the batch does not fit a {type(self).__name__}: {error}") from None
        count = min(size, *(int(v.shape[0]) for v in tensors.values()))
        return {key: np.asarray(value)[:count] for key, value in tensors.items()}

    def generator_inputs(self, batch):
        return batch[self.generator_input_key]

    def discriminator_inputs(self, batch):
        return batch[self.real_image_key]

    def generate(self, batch, training=False):
        return self.primary_generator()(self.generator_inputs(batch), training=training)

    def content_batch(self, images, style_index=0):
        """A batch of content images alone, as `generate` and `discriminator_logits` take it
        (with the style index where the family needs one): for previews, maps and probes."""
        return {self.generator_input_key: tf.convert_to_tensor(images)}

    def discriminator_condition(self, images, style_index=0):
        """What a conditional discriminator sees beside an output of `images`: the content
        images themselves (pix2pix); the multi-style families add the style."""
        return tf.convert_to_tensor(images)

    def discriminator_logits(self, images, batch=None, direction=None, training=False):
        discriminator = self.primary_discriminator(direction)
        return tf.cast(discriminator(images, training=training), tf.float32)

    def fake_logits(self, batch, training=False):
        return [self.discriminator_logits(self.generate(batch, training), batch, None, training)]

    def real_verdict(self, batch, training=False):
        images = batch[self.real_image_key]
        logits = self.discriminator_logits(images, batch, None, training)
        return images, per_example_mean(logits)

    def _make_trackers(self, names):
        if getattr(self, "locality_weight", 0.0):  # set by `_set_explanation_options`
            names = [*names, "locality_loss"]
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}
        self.image_metrics = []
        self.generator_optimizer = None
        self.discriminator_optimizer = None

    @property
    def metrics(self):
        return [*self.trackers.values(), *self.image_metrics]

    def generator_variables(self):
        return [v for model in self.generator_networks() for v in model.trainable_variables]

    def discriminator_variables(self):
        return [v for model in self.discriminator_networks() for v in model.trainable_variables]

    # --- compile ----------------------------------------------------------------------------

    def compile(self, generator_optimizer=None, discriminator_optimizer=None, **kwargs):
        """Configure training.

        Args:
            generator_optimizer: keras.optimizers.Optimizer or its config name. Defaults to
                Adam(2e-4, beta_1=0.5).
            discriminator_optimizer: keras.optimizers.Optimizer or name. Defaults to the same.
            metrics: list of image metrics (FID, KID, style score: metrics whose class sets
                `is_image_metric = True`, as `keras_styletransfer.metrics.ImageMetric` does),
                updated in `test_step` on the generated images against the evaluation targets,
                so `evaluate`, `fit(validation_data=...)`, `EarlyStopping` and
                `ModelCheckpoint` see them. Not saved in a `.keras` file's compile config: pass
                them again after loading. Defaults to none.
            **kwargs: passed to `keras.Model.compile` (e.g. `jit_compile`, `steps_per_execution`).
                `optimizer` and `loss` are not accepted: the model has two optimizers and
                computes its own losses.
        """
        image_metrics = list(kwargs.pop("metrics", None) or [])
        for metric in image_metrics:
            # A class attribute, not an isinstance check: models do not import `metrics`.
            if getattr(type(metric), "is_image_metric", False) is not True:
                raise TypeError(
                    f"{type(self).__name__}.compile(metrics=...) takes image metrics from "
                    "keras_styletransfer.metrics (FrechetDistance, KernelDistance, StyleScore); "
                    f"received {metric!r}. Its losses and their parts are tracked already."
                )
        names = [metric.name for metric in image_metrics]
        clashes = sorted({n for n in names if names.count(n) > 1 or n in self.trackers})
        if clashes:
            raise ValueError(f"metric names must be unique and not a loss's name: {clashes}.")
        for key in ("optimizer", "loss"):
            if kwargs.get(key) is not None:
                raise ValueError(
                    f"{type(self).__name__}.compile() takes `generator_optimizer` and "
                    f"`discriminator_optimizer`, not `{key}`; losses are chosen in the "
                    "constructor."
                )
            kwargs.pop(key, None)
        super().compile(optimizer=None, **kwargs)
        self.image_metrics = image_metrics
        self.generator_optimizer = keras.optimizers.get(generator_optimizer or default_optimizer())
        self.discriminator_optimizer = keras.optimizers.get(
            discriminator_optimizer or default_optimizer()
        )
        if self.generator_optimizer is self.discriminator_optimizer:
            raise ValueError(
                "Pass two different optimizer objects: one optimizer cannot hold the state of "
                "both the generators and the discriminators."
            )
        if self.dtype_policy.name == "mixed_float16":
            # float16 gradients underflow without loss scaling; Keras' own compile does the same
            # for its single optimizer. `_apply` scales the backward pass by the current scale.
            if not isinstance(self.generator_optimizer, keras.optimizers.LossScaleOptimizer):
                self.generator_optimizer = keras.optimizers.LossScaleOptimizer(
                    self.generator_optimizer
                )
            if not isinstance(self.discriminator_optimizer, keras.optimizers.LossScaleOptimizer):
                self.discriminator_optimizer = keras.optimizers.LossScaleOptimizer(
                    self.discriminator_optimizer
                )
        build_optimizer(self.generator_optimizer, self.generator_variables())
        build_optimizer(self.discriminator_optimizer, self.discriminator_variables())

    def fit(self, *args, **kwargs):
        """`keras.Model.fit`, then what Keras's `fit` does for a model's one optimizer, for each
        of the two: `finalize_variable_values` on its variables. An optimizer made with
        `use_ema=True` (e.g. `Adam(..., use_ema=True, ema_momentum=0.999)` as the generator
        optimizer) thus leaves its moving average of the weights in the networks when training
        ends, as in a plain Keras model. The averages are optimizer variables: checkpoints
        written during training hold the raw weights and the averages, so a resumed run goes
        on exactly."""
        history = super().fit(*args, **kwargs)
        self.generator_optimizer.finalize_variable_values(self.generator_variables())
        self.discriminator_optimizer.finalize_variable_values(self.discriminator_variables())
        return history

    # --- config -----------------------------------------------------------------------------

    # A constructor argument whose attribute has another name.
    _config_attributes: ClassVar[dict] = {"loss": "loss_name"}

    def _family_config(self):
        """The family's own constructor arguments: every parameter of `__init__` but the
        networks and the name, read back from the attribute of the same name."""
        import inspect

        skip = {"self", "name", *self.network_roles}
        variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        return {
            key: getattr(self, self._config_attributes.get(key, key))
            for key, parameter in inspect.signature(type(self).__init__).parameters.items()
            if key not in skip and parameter.kind not in variadic
        }

    def get_config(self):
        return {
            "name": self.name,
            **{
                role: keras.saving.serialize_keras_object(network)
                for role, network in self.networks.items()
            },
            **self._family_config(),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for role in cls.network_roles:
            config[role] = keras.saving.deserialize_keras_object(config[role])
        return cls(**config)

    def _require_compiled(self):
        if self.generator_optimizer is None:
            raise RuntimeError(f"Call {type(self).__name__}.compile() before fit().")

    def get_compile_config(self):
        if self.generator_optimizer is None:
            return None
        return {
            "generator_optimizer": keras.saving.serialize_keras_object(self.generator_optimizer),
            "discriminator_optimizer": keras.saving.serialize_keras_object(
                self.discriminator_optimizer
            ),
        }

    def compile_from_config(self, config):
        self.compile(
            generator_optimizer=keras.saving.deserialize_keras_object(
                config["generator_optimizer"]
            ),
            discriminator_optimizer=keras.saving.deserialize_keras_object(
                config["discriminator_optimizer"]
            ),
        )

    # --- random state -------------------------------------------------------------------------

    # Random-number states are training state: the model's own stream and every dropout layer's
    # seed. Keras' saving skips them, so a reloaded or resumed run would draw other noise and
    # other dropout masks; they are stored here, in a fixed order, with the model's own variables.
    _SEED_STATE_PREFIX = "seed_state_"

    def random_states(self):
        """Every random-number state that training advances: the model's own stream and its
        layers' (dropout). Saved with the model; restoring them restores the draws."""
        states = [self.seed_generator.state]
        for model in (*self.generator_networks(), *self.discriminator_networks()):
            states += [v for v in model.variables if is_seed_state(v)]
        return states

    def save_own_variables(self, store):
        super().save_own_variables(store)
        for index, state in enumerate(self.random_states()):
            store[f"{self._SEED_STATE_PREFIX}{index}"] = state.numpy()

    def load_own_variables(self, store):
        keys = list(store.keys())
        for index, state in enumerate(self.random_states()):
            key = f"{self._SEED_STATE_PREFIX}{index}"
            if key in keys:
                state.assign(store[key])
        super().load_own_variables(
            {k: store[k] for k in keys if not k.startswith(self._SEED_STATE_PREFIX)}
        )

    # --- steps ----------------------------------------------------------------------------------

    def _frozen_discriminator_state(self):
        """Snapshot of every discriminator statistic (not seeds), to put back after G's step.

        During G's update D runs in training mode (dropout, batch statistics), as in its own
        step, but its moving statistics must not learn from G's images.
        """
        variables = [
            v
            for model in self.discriminator_networks()
            for v in model.non_trainable_variables
            if not is_seed_state(v)
        ]
        return variables, [tf.identity(v) for v in variables]

    @staticmethod
    def _restore(snapshot):
        variables, values = snapshot
        for variable, value in zip(variables, values, strict=True):
            variable.assign(value)

    def _apply(self, optimizer, tape, loss, variables):
        """Differentiate `loss` (already reduced over the global batch) and update `variables`.

        With a `LossScaleOptimizer` (mixed_float16) the backward pass starts from the loss scale
        instead of 1 (the gradient of `scale * loss`, without re-recording the loss); the
        optimizer divides it out and skips steps whose gradients overflowed.
        """
        output_gradients = None
        if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            output_gradients = tf.cast(optimizer.scale_loss(1.0), loss.dtype)
        gradients = tape.gradient(loss, variables, output_gradients=output_gradients)
        optimizer.apply_gradients(zip(gradients, variables, strict=True))

    def _discriminator_then_generator_step(self, make_fakes, discriminator_terms, generator_terms):
        """One step of the plan "fakes once; update D on them; update G against the new D".

        `make_fakes()` runs the generator in training mode (recorded for G's gradient);
        `discriminator_terms(detached_fakes)` and `generator_terms(fakes)` return dicts with
        `d_loss` / `g_loss` per example. D is updated first on the detached fakes; G is then
        updated on its terms, judged by the updated D, whose statistics are put back afterwards.

        Returns:
            `(terms, fakes)`: D's and G's terms in one dict, and the fakes.
        """
        with tf.GradientTape() as g_tape:
            fakes = make_fakes()
            with g_tape.stop_recording():
                with tf.GradientTape() as d_tape:
                    terms = discriminator_terms(tf.stop_gradient(fakes))
                    d_loss = reduce_over_global_batch(terms["d_loss"])
                self._apply(
                    self.discriminator_optimizer, d_tape, d_loss, self.discriminator_variables()
                )
                snapshot = self._frozen_discriminator_state()
            g_terms = generator_terms(fakes)
            g_loss = reduce_over_global_batch(g_terms["g_loss"])
        self._apply(self.generator_optimizer, g_tape, g_loss, self.generator_variables())
        self._restore(snapshot)
        terms.update(g_terms)
        return terms, fakes

    def _update_image_metrics(self, targets, generate, style_indices=None):
        """Update the compiled image metrics on `generate()`'s images against `targets`."""
        if not self.image_metrics:
            return {}
        generated = generate()
        for metric in self.image_metrics:
            metric.update_state(targets, generated, style_indices=style_indices)
        return {metric.name: metric.result() for metric in self.image_metrics}

    def _update_trackers(self, terms):
        # Each replica adds its local sums and counts; Mean's sync-on-read variables add them
        # over replicas, so the reported value is the global mean, not one replica's.
        # Only the terms this step computed are returned (a CycleGAN's PSNR needs paired truth,
        # which only evaluation data has), so no log shows a never-updated tracker's 0.
        updated = [name for name in self.trackers if name in terms]
        for name in updated:
            self.trackers[name].update_state(terms[name])
        return as_step_logs({name: self.trackers[name].result() for name in updated})

    # --- explanation-guided training (keras_styletransfer.losses) ---------------------------------

    def _set_explanation_options(self, explanation_guidance, locality_weight=0.0):
        """Store the xAI-GAN guidance and locality weights (call before `_make_trackers`).

        `explanation_guidance` scales G's gradient on the images D judges by `1 + weight * mask`
        (D's saliency); `locality_weight` adds `weight * mean((1 - mask) * |G(x) - x|)` to G's
        loss, tracked as `locality_loss`. Both 0 (the default) leave training bit-identical to
        a model without them.
        """
        self.explanation_guidance = check_weight(explanation_guidance, "explanation_guidance")
        self.locality_weight = check_weight(locality_weight, "locality_weight")

    def _guide(self, discriminate, images, training=True):
        """`images`, with D's explanation shaping their gradient when guidance is on.

        Only training differentiates G's loss, so evaluation skips the saliency pass.
        """
        if not self.explanation_guidance or not training:
            return images
        return guide_images(discriminate, images, self.explanation_guidance)

    def _add_locality(self, terms, discriminate, source_images, output_images):
        """Add this pair's locality penalty (per example) to `terms["locality_loss"]` and, weighted,
        to `terms["g_loss"]`; CycleGAN calls it once per direction."""
        if not self.locality_weight:
            return terms
        mask = saliency_mask(discriminate, output_images)
        penalty = locality_penalty(source_images, output_images, mask)
        terms["locality_loss"] = terms.get("locality_loss", 0.0) + penalty
        terms["g_loss"] = terms["g_loss"] + self.locality_weight * penalty
        return terms


def unpack_pair(data, what):
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
