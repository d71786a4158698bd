"""What every adversarial wrapper shares: two optimizers, trackers, resumable random state.

`GAN`, `Pix2Pix`, `CycleGAN` and `MultiStyleGAN` hold one or more generators and discriminators.
Each has exactly two optimizers: `generator_optimizer` over every generator variable and
`discriminator_optimizer` over every discriminator variable (as the CycleGAN reference chains
G and F into one Adam). This base class makes `compile`, the compile config of a `.keras` file, the
metric trackers and the saving of random-number state the same for all of them.
"""

from __future__ import annotations

import keras
import tensorflow as tf


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


def check_weight(value, name):
    """A loss weight as a float >= 0, or a clear error."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"`{name}` must be a number >= 0; received {value!r}.") from None
    if not value >= 0:  # also catches NaN
        raise ValueError(f"`{name}` must be a number >= 0; received {value!r}.")
    return value


def check_model(model, name):
    if not isinstance(model, keras.Model):
        raise TypeError(f"`{name}` must be a keras.Model; received {type(model).__name__}.")
    return model


class AdversarialModel(keras.Model):
    """Base of the adversarial wrappers; subclasses list their networks and trackers.

    Subclasses set `self.seed_generator`, call `self._make_trackers(names)` in `__init__`, and
    implement `generator_networks()` / `discriminator_networks()`.
    """

    def generator_networks(self):
        raise NotImplementedError

    def discriminator_networks(self):
        raise NotImplementedError

    def _make_trackers(self, names):
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}
        self.generator_optimizer = None
        self.discriminator_optimizer = None

    @property
    def metrics(self):
        return list(self.trackers.values())

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
            **kwargs: passed to `keras.Model.compile` (e.g. `jit_compile`, `steps_per_execution`).
                `optimizer`, `loss` and `metrics` are not accepted: the model has two optimizers
                and computes its own losses.
        """
        for key in ("optimizer", "loss", "metrics"):
            if kwargs.get(key) is not None:
                raise ValueError(
                    f"{type(self).__name__}.compile() takes `generator_optimizer` and "
                    f"`discriminator_optimizer`, not `{key}`; losses are chosen in the "
                    "constructor."
                )
            kwargs.pop(key, None)
        super().compile(optimizer=None, **kwargs)
        self.generator_optimizer = keras.optimizers.get(generator_optimizer or default_optimizer())
        self.discriminator_optimizer = keras.optimizers.get(
            discriminator_optimizer or default_optimizer()
        )
        if self.generator_optimizer is self.discriminator_optimizer:
            raise ValueError(
                "Pass two different optimizer objects: one optimizer cannot hold the state of "
                "both the generators and the discriminators."
            )
        build_optimizer(self.generator_optimizer, self.generator_variables())
        build_optimizer(self.discriminator_optimizer, self.discriminator_variables())

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

    def _seed_states(self):
        states = [self.seed_generator.state]
        for model in (*self.generator_networks(), *self.discriminator_networks()):
            states += [v for v in model.variables if is_seed_state(v)]
        return states

    def save_own_variables(self, store):
        super().save_own_variables(store)
        for index, state in enumerate(self._seed_states()):
            store[f"{self._SEED_STATE_PREFIX}{index}"] = state.numpy()

    def load_own_variables(self, store):
        keys = list(store.keys())
        for index, state in enumerate(self._seed_states()):
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
        gradients = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(gradients, variables, strict=True))

    def _update_trackers(self, terms):
        # Each replica adds its local sums and counts; Mean's sync-on-read variables add them
        # over replicas, so the reported value is the global mean, not one replica's.
        # Only the terms this step computed are returned (a CycleGAN's PSNR needs paired truth,
        # which only evaluation data has), so no log shows a never-updated tracker's 0.
        updated = [name for name in self.trackers if name in terms]
        for name in updated:
            self.trackers[name].update_state(terms[name])
        return {name: self.trackers[name].result() for name in updated}
