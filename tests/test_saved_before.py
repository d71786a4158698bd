"""`.keras` files written by version 0.1.0 (before the package was reorganised) still load.

`tests/fixtures/v0_1_0/` holds one tiny trained model of each family saved by 0.1.0 (module paths
`keras_styletransfer.models.translation` etc., since moved) and its generator's outputs on fixed
inputs. Keras finds classes by their registered names, so the files load unchanged; this test
keeps it so.
"""

import contextlib
import pathlib

import numpy as np
import pytest

from keras_styletransfer.kernels import portable_ops
from keras_styletransfer.models.loading import load_trained, parts_of

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "v0_1_0"


def _inputs(family):
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (2, 16, 16, 3)).astype("float32")
    if family == "gan":
        return np.ones((2, 4), "float32")
    if family == "multistyle":
        return {
            "image": images,
            "style": np.eye(3, dtype="float32")[[0, 1]],
            "strength": np.ones((2, 1), "float32"),
        }
    return images


@pytest.mark.parametrize("family", ["gan", "pix2pix", "cyclegan", "multistyle"])
def test_a_model_saved_by_0_1_0_loads_with_identical_outputs_and_resumes(family):
    model = load_trained(str(FIXTURES / f"{family}.keras"))
    assert model.family == family
    generator = parts_of(model).generator
    expected = np.load(FIXTURES / "expected_outputs.npz")[family]
    # The formulas 0.1.0 ran (portable_ops: Keras's instance norm and transposed convolution;
    # by default both run faster kernels that agree to float32 rounding). Not bit for bit:
    # oneDNN picks its convolution kernels by the CPU's instruction set, so the float32 sums
    # are ordered differently on another CPU than the one that wrote the fixture (~2e-6 apart
    # after the generator's dozen layers); a weight that failed to load moves outputs by ~0.1.
    for portable in (True, False):
        with portable_ops() if portable else contextlib.nullcontext():
            outputs = np.asarray(generator(_inputs(family), training=False))
        np.testing.assert_allclose(outputs, expected, rtol=0, atol=1e-5)
    # The optimizers come back with their step count: training can go on from here.
    assert int(model.generator_optimizer.iterations.numpy()) == 1
