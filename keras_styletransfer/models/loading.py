"""The one loader: any model the package saves, from a `.keras` file or as an object.

`load_trained(path_or_model)` returns the saved object (a wrapper such as `Pix2Pix`, or a bare
generator such as a fused `MixtureGenerator`), with one-line errors for a missing file, a file
that is not a Keras archive, and an archive holding classes this version does not know.
`parts_of(model, direction)` names what callers need from it: the generator of a direction, the
discriminator that judges it, the generator's style slots and the family. The CLI, serving,
fusion, fine-tuning and explain all load through these two functions.
"""

from __future__ import annotations

import dataclasses
import os
import zipfile

import keras

from keras_styletransfer.errors import InputError

# Registers every saveable class with Keras, so `keras.saving.load_model` finds them.
from keras_styletransfer.models import registry  # noqa: F401
from keras_styletransfer.models.adversarial import AdversarialModel


@dataclasses.dataclass(frozen=True)
class TrainedParts:
    """What a loaded model offers for one direction.

    Attributes:
        model: keras.Model. What was loaded (a wrapper or a bare generator).
        generator: keras.Model. The generator of the direction.
        discriminator: keras.Model or None. The discriminator judging its outputs (None for a
            bare generator).
        style_names: list of str or None. The generator's style slots, for generators that take
            a style input (a multi-style model's styles then its content domain); else None.
        family: str. The wrapper's `family` ("gan", "pix2pix", "cyclegan", "cut", "fastcut",
            "multistyle", "multistyle_paired"), or "generator" for a bare one.
        name: str. A name to serve it under (the CycleGAN direction appended).
        direction: str or None. "AB" / "BA" for a CycleGAN, else None.
    """

    model: keras.Model
    generator: keras.Model
    discriminator: keras.Model | None
    style_names: list | None
    family: str
    name: str
    direction: str | None = None


def load_trained(path_or_model, compile=True):
    """Load a model the package saved, or pass a model through.

    Args:
        path_or_model: str, os.PathLike or keras.Model. A `.keras` file written by training,
            fine-tuning, fusion or `Model.save`, or an already loaded model.
        compile: bool. Restore a wrapper's optimizers (for resuming). Defaults to True.

    Returns:
        The keras.Model.

    Raises:
        InputError: the file is missing, is not a Keras archive, or holds classes this version
            of keras_styletransfer cannot build; the message says what to do.
    """
    if isinstance(path_or_model, keras.Model):
        return path_or_model
    if not isinstance(path_or_model, str | os.PathLike):
        raise InputError(
            "expected a keras.Model or the path of a .keras file; received "
            f"{type(path_or_model).__name__}."
        )
    path = os.fspath(path_or_model)
    if os.path.isdir(path):
        raise InputError(
            f"{path!r} is a folder; pass the .keras file inside a run (e.g. {path}/final.keras)."
        )
    if not os.path.isfile(path):
        raise InputError(f"model file {path!r} not found; pass a .keras file from training.")
    if not zipfile.is_zipfile(path):
        raise InputError(
            f"{path!r} is not a Keras model archive (a .keras file is a zip archive); it is "
            "damaged or another kind of file. Use a .keras file written by training, or train "
            "again."
        )
    try:
        return keras.saving.load_model(path, compile=compile)
    except Exception as error:  # Keras raises TypeError / ValueError / KeyError / OSError here
        text = str(error).splitlines()[0] if str(error) else type(error).__name__
        if "Could not locate class" in str(error) or "Unknown" in str(error):
            raise InputError(
                f"{path!r} holds a class this version of keras_styletransfer does not know "
                f"({text}). Load it with the version that saved it, or save it again."
            ) from None
        raise InputError(f"cannot load {path!r} as a Keras model: {text}") from None


def check_finite_weights(model, what=None):
    """`model`, after checking that every floating-point weight is finite.

    A model whose training diverged (or a damaged file) holds NaN or infinite weights; used as it
    is, it stylises or samples black images without any error. Every use of a loaded model
    (stylize, sample, export, explain, evaluate, fuse, the Python `stylize`) checks first.

    Raises:
        InputError: naming the model and the first non-finite weight.
    """
    import numpy as np

    for variable in model.weights:
        if not variable.dtype.startswith(("float", "bfloat")):
            continue
        values = np.asarray(variable.numpy())
        if not np.isfinite(values).all():
            bad = int(values.size - np.isfinite(values).sum())
            raise InputError(
                f"{what or repr(model.name)} has non-finite weights ({bad} NaN / infinite values "
                f"in {variable.path}): its training diverged or the file is damaged. Use an "
                "earlier checkpoint (checkpoints/, backup/) or train again."
            )
    return model


def _served_name(text):
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text) or "model"


def parts_of(model, direction=None, check_finite=True):
    """The generator, discriminator and style slots of a loaded (or loadable) model.

    Args:
        model: keras.Model, str or os.PathLike. Anything `load_trained` takes.
        direction: str or None. A CycleGAN's "AB" (G and D_B, the default) or "BA" (F and D_A);
            other models take None (or "AB").
        check_finite: bool. Refuse a model with NaN or infinite weights
            (`check_finite_weights`). Defaults to True.

    Returns:
        A `TrainedParts`.
    """
    what = repr(os.fspath(model)) if isinstance(model, str | os.PathLike) else None
    model = load_trained(model)
    if check_finite:
        check_finite_weights(model, what)
    if isinstance(model, AdversarialModel):
        try:
            generator = model.primary_generator(direction)
            discriminator = model.primary_discriminator(direction)
            chosen = model._check_direction(direction)
        except ValueError as error:
            raise InputError(str(error)) from None
        name = model.name if chosen is None else f"{model.name}_{chosen.lower()}"
        return TrainedParts(
            model=model,
            generator=generator,
            discriminator=discriminator,
            style_names=model.generator_style_names,
            family=model.family,
            name=_served_name(name),
            direction=chosen,
        )
    if direction not in (None, "AB"):
        raise InputError(
            f"{model.name!r} is a single generator; it has no direction {direction!r}."
        )
    # Only a generator with a style input has style slots: a fused blend (StyleBlendGenerator)
    # records the styles it mixed, but takes an image alone.
    takes_style = len(getattr(model, "inputs", None) or []) == 3
    names = getattr(model, "style_names", None) if takes_style else None
    return TrainedParts(
        model=model,
        generator=model,
        discriminator=None,
        style_names=list(names) if names else None,
        family="generator",
        name=_served_name(model.name),
    )


def require_wrapper(model, what, families=None, check_finite=True):
    """`model` loaded, checked to be an adversarial wrapper (of one of `families`) and, unless
    `check_finite=False`, to hold finite weights."""
    source = repr(os.fspath(model)) if isinstance(model, str | os.PathLike) else None
    model = load_trained(model)
    from keras_styletransfer.config import TRANSLATION_FAMILIES

    kinds = families or ("gan", *TRANSLATION_FAMILIES)
    if not isinstance(model, AdversarialModel) or model.family not in kinds:
        raise InputError(
            f"{what} needs a trained {' / '.join(kinds)} model (the final.keras of a run); "
            f"received a {type(model).__name__}."
        )
    return check_finite_weights(model, source) if check_finite else model
