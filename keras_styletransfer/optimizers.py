"""Learning-rate schedules of the translation recipes."""

from __future__ import annotations

import keras
import tensorflow as tf

_PACKAGE = "keras_styletransfer"


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
