"""Seeded construction without changing the caller's random state.

`keras.utils.set_random_seed` reseeds Python, NumPy, TensorFlow and Keras for the whole process:
library code that called it would silently change its user's random streams. The package instead
gives seeds to the objects that draw (a model's `keras.random.SeedGenerator`, `tf.data` shuffles,
NumPy `Generator`s), and builds networks inside `seeded(seed)`, which gives weight initialisers
and new dropout layers a stream of their own and puts every global state back on exit.
"""

from __future__ import annotations

import contextlib
import random

import numpy as np


@contextlib.contextmanager
def seeded(seed):
    """Draw initial weights and layer seeds from `seed` inside the block; restore afterwards.

    Keras' unseeded initialisers draw from its global `SeedGenerator`, and a new layer's own
    `SeedGenerator(seed=None)` takes its seed from Python's `random`. Inside the block both come
    from `seed` (as after `keras.utils.set_random_seed(seed)`, so models are built with the same
    weights as before); on exit the previous global generator and Python's random state are put
    back, so code outside the block sees no change.

    Args:
        seed: int or None. None leaves everything as it is (random weights).

    Example:
        >>> with seeded(0):
        ...     generator = UNetGenerator()
    """
    if seed is None:
        yield
        return
    from keras.src.backend.common import global_state
    from keras.src.random import seed_generator
    from keras.src.utils.rng_utils import GLOBAL_RANDOM_SEED

    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(f"seed must be an integer or None; received {seed!r}.")
    saved = (
        random.getstate(),
        global_state.get_global_attribute(GLOBAL_RANDOM_SEED),
        global_state.get_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR),
    )
    try:
        random.seed(int(seed))
        global_state.set_global_attribute(GLOBAL_RANDOM_SEED, int(seed))
        global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, None)
        yield
    finally:
        random.setstate(saved[0])
        global_state.set_global_attribute(GLOBAL_RANDOM_SEED, saved[1])
        global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, saved[2])


def numpy_generator(seed):
    """A NumPy `Generator` for `seed` (a fresh random one for None)."""
    return np.random.default_rng(seed)
