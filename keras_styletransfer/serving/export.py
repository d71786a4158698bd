"""Export a trained generator as a TensorFlow SavedModel that TensorFlow Serving loads.

`export_generator` writes the generator alone (no discriminator, no optimizer) with Keras 3's
`keras.export.ExportArchive` into TF Serving's layout, `out_dir/<model_name>/<version>/`, with
the signatures `signatures.SIGNATURES` lists (`keras_styletransfer.serving.signatures` describes
them and their input checks). `verification.verify_export` checks a written export against the
Keras generator.

TF Serving cannot give a signature input a default value (a Predict request must feed every input
of the signature), so defaults are separate signatures: `serve_bytes_<style>` is "that style at
full strength", and all other multi-style signatures take `style` and `strength` explicitly.

Folders are created readable by everyone (0755, files 0644) whatever the umask: TF Serving often
runs as another user than the one who exports.

Example:
    >>> from keras_styletransfer.serving.export import export_generator, verify_export
    >>> result = export_generator("run/final.keras", "exported", name="watercolour")
    >>> result.path
    'exported/watercolour/1'
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile

import numpy as np

from keras_styletransfer.errors import InputError
from keras_styletransfer.models.loading import parts_of
from keras_styletransfer.serving.signatures import (
    DEFAULT_MAX_PIXELS,
    SIGNATURES,
    ServingGraph,
    build_signatures,
    describe,
    safe_name,
)
from keras_styletransfer.serving.verification import verification_sample, verify_export

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "SIGNATURES",
    "ExportResult",
    "export_generator",
    "verification_sample",
    "verify_export",
]

DIRECTORY_MODE = 0o755
FILE_MODE = 0o644


@dataclasses.dataclass(frozen=True)
class ExportResult:
    """What `export_generator` wrote.

    Attributes:
        path: str. The SavedModel directory, `out_dir/<name>/<version>`.
        name: str. The model name TF Serving serves it under (`MODEL_NAME`).
        version: int. The version directory.
        kind: str. "image" (image-to-image), "style" (multi-style) or "noise" (noise GAN).
        style_names: list of str or None. Style index order of a multi-style model.
        signatures: dict. Signature name -> {"inputs": {name: (dtype, shape)}, "outputs": ...}.
    """

    path: str
    name: str
    version: int
    kind: str
    style_names: list | None
    signatures: dict


def next_version(model_dir):
    """The next free integer version folder in `model_dir` (1 when there is none)."""
    versions = (
        [int(e) for e in os.listdir(model_dir) if e.isdigit()] if os.path.isdir(model_dir) else []
    )
    return max(versions, default=0) + 1


def _version_folder(model_dir, version, overwrite):
    """`(version, destination)`, checked: a non-negative int whose folder is free (or replaced)."""
    if version is None:
        version = next_version(model_dir)
    if isinstance(version, bool) or not isinstance(version, int | np.integer) or version < 0:
        raise InputError(f"version must be a non-negative integer; received {version!r}.")
    destination = os.path.join(model_dir, str(int(version)))
    if os.path.exists(destination) and not overwrite:
        raise InputError(
            f"{destination} already exists; pass another version (the next free one is "
            f"{next_version(model_dir)}), leave it unset, or overwrite it."
        )
    return int(version), destination


def make_readable(path):
    """Give `path` and everything under it mode 0755 (folders) / 0644 (files), whatever the
    umask, so that a TF Serving process running as another user can read it."""
    os.chmod(path, DIRECTORY_MODE)
    for root, folders, files in os.walk(path):
        for name in folders:
            os.chmod(os.path.join(root, name), DIRECTORY_MODE)
        for name in files:
            file = os.path.join(root, name)
            if not os.path.islink(file):
                os.chmod(file, FILE_MODE)


def _make_folders(path):
    """`os.makedirs(path)` with every folder it creates readable by others (mode 0755)."""
    missing = []
    while path and not os.path.isdir(path):
        missing.append(path)
        path = os.path.dirname(path)
    for folder in reversed(missing):
        os.makedirs(folder, exist_ok=True)
        os.chmod(folder, DIRECTORY_MODE)


def export_generator(
    model_or_generator,
    out_dir,
    *,
    name=None,
    version=None,
    direction=None,
    style_names=None,
    max_pixels=DEFAULT_MAX_PIXELS,
    overwrite=False,
):
    """Export a generator as a SavedModel with TF Serving signatures (see `signatures`).

    The SavedModel is written to a temporary directory beside its destination and renamed into
    place when complete, so a TF Serving instance watching `out_dir/<name>` never loads a
    half-written version. `assets.extra/export_info.json` records the kind, style names and
    signatures (TF Serving ignores it).

    Args:
        model_or_generator: keras.Model or str. A trained GAN, Pix2Pix, CycleGAN or
            MultiStyleGAN, a bare generator, or a `.keras` file holding one.
        out_dir: str. The model base directory; the SavedModel goes to
            `out_dir/<name>/<version>/`.
        name: str. The model name (TF Serving's `MODEL_NAME`). Defaults to the model's name
            (CycleGAN: with `_ab` / `_ba`), made of letters, digits and underscores.
        version: int. The version directory. Defaults to the next free integer (1 at first).
        direction: str. "AB" or "BA": which CycleGAN generator. Defaults to None ("AB").
        style_names: list of str. Names of a multi-style generator's style indices. Defaults to
            the names the model carries (MultiStyleGAN's styles then its content domain), else
            "0", "1", ...
        max_pixels: int. Largest height * width a request may send. Defaults to 2048 * 2048.
        overwrite: bool. Replace an existing version directory. Defaults to False.

    Returns:
        An `ExportResult` (path, name, version, kind, style_names, signatures).

    Example:
        >>> result = export_generator(generator, "exported", name="pencil", version=3)
        >>> sorted(result.signatures)
        ['serve_bytes', 'serve_uint8', 'serving_default']
    """
    import keras

    if direction not in (None, "AB", "BA"):
        raise InputError(f"direction must be 'AB' or 'BA'; received {direction!r}.")
    parts = parts_of(model_or_generator, direction)
    generator = parts.generator
    graph = ServingGraph(generator, style_names or parts.style_names, max_pixels)

    name = safe_name(name or parts.name)
    model_dir = os.path.join(os.fspath(out_dir), name)
    version, destination = _version_folder(model_dir, version, overwrite)

    archive = keras.export.ExportArchive()
    archive.track(generator)
    described = {}
    for signature_name, function, input_signature in build_signatures(graph):
        endpoint = archive.add_endpoint(signature_name, function, input_signature=input_signature)
        described[signature_name] = describe(endpoint.get_concrete_function())

    _make_folders(model_dir)
    # A name that is not an integer: TF Serving skips it while it is being written.
    staging = tempfile.mkdtemp(prefix=f".export-{version}-", dir=model_dir)
    try:
        archive.write_out(staging, verbose=False)
        info_dir = os.path.join(staging, "assets.extra")
        os.makedirs(info_dir, exist_ok=True)
        with open(os.path.join(info_dir, "export_info.json"), "w") as file:
            json.dump({**graph.info(), "signatures": described}, file, indent=2)
        make_readable(staging)  # mkdtemp makes a private (0700) folder
        if os.path.exists(destination):
            shutil.rmtree(destination)
        os.replace(staging, destination)
    finally:
        if os.path.exists(staging):
            shutil.rmtree(staging, ignore_errors=True)
    return ExportResult(
        path=destination,
        name=name,
        version=version,
        kind=graph.kind,
        style_names=graph.style_names,
        signatures=described,
    )
