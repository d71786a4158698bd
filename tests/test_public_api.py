"""The public API: the names users import from `keras_styletransfer`, and lazy loading."""

import os
import subprocess
import sys

import keras_styletransfer

# The list of what a user imports from the package root.
PUBLIC = [
    "GAN",
    "Pix2Pix",
    "CycleGAN",
    "MultiStyleGAN",
    "ResnetGenerator",
    "UNetGenerator",
    "StyleGenerator",
    "PatchGANDiscriminator",
    "stylize",
    "export_generator",
    "load_trained",
    "explain",
    "train",
    "train_translation",
    "fine_tune",
    "TrainConfig",
    "TranslationConfig",
    "InputError",
]


def test_the_public_names_import_from_the_package_root_and_are_listed_in_all():
    for name in PUBLIC:
        assert name in keras_styletransfer.__all__, name
        assert getattr(keras_styletransfer, name) is not None
    for name in keras_styletransfer.__all__:  # nothing listed that does not resolve
        getattr(keras_styletransfer, name)
    from keras_styletransfer.models.pix2pix import Pix2Pix

    assert keras_styletransfer.Pix2Pix is Pix2Pix
    assert keras_styletransfer.explain.__name__ == "keras_styletransfer.explain"


def test_subpackage_namespaces_resolve_every_listed_name():
    import keras_styletransfer.data as data
    import keras_styletransfer.explain as explain
    import keras_styletransfer.models as models

    for package in (data, explain, models):
        for name in package.__all__:
            assert getattr(package, name) is not None, f"{package.__name__}.{name}"


def test_the_lazy_mode_of_the_command_line_imports_no_tensorflow():
    script = (
        "import sys, keras_styletransfer, keras_styletransfer.models, keras_styletransfer.data\n"
        "from keras_styletransfer.models.presets import get_preset\n"
        "get_preset('mnist_dcgan')\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    env = {**os.environ, "KERAS_STYLETRANSFER_LAZY": "1"}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["False", "False"]
