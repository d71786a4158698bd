"""Inference workloads: W2 (ResNet-9 generator), W4 (U-Net 256 through stylize, predict and the
exported SavedModel), and the input pipeline's throughput on the embedded data."""

from __future__ import annotations

import tempfile
import time

import numpy as np

from benchmarks.cases import add_torch_peer, function_step, measure_case
from benchmarks.flops import forward_flops
from benchmarks.protocol import Contender


def _float_images(seed, shape):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32)


def _exported(generator, folder):
    """The generator exported with its serving signatures, loaded back: `f(images) -> dict`."""
    import tensorflow as tf

    from keras_styletransfer.serving.export import export_generator

    result = export_generator(generator, folder, name="bench", version=1)
    loaded = tf.saved_model.load(result.path)

    def serve(images):  # holds `loaded`: its variables live as long as this function
        return loaded.serving_default(images)

    return serve


def _ours_function(generator, jit_compile=False):
    import tensorflow as tf

    if not jit_compile:
        from keras_styletransfer.serving.inference import Stylizer

        return Stylizer(generator)._run  # the compiled function stylize() and the CLI use
    return tf.function(lambda x: generator(x, training=False), jit_compile=True)


def w2(settings, log):
    import tensorflow as tf

    from benchmarks.peers import kerasio_cyclegan
    from keras_styletransfer.models.generators import ResnetGenerator
    from keras_styletransfer.seeding import seeded

    cfg = settings["w2"]
    size = cfg["size"]
    with seeded(0):
        generator = ResnetGenerator(num_residual_blocks=cfg["blocks"], filters=cfg["filters"])
        peer = kerasio_cyclegan.resnet_generator(cfg["filters"], residual_blocks=cfg["blocks"])
    peer_function = tf.function(lambda x: peer(x, training=False))
    cases = []
    with tempfile.TemporaryDirectory() as folder:
        served = _exported(generator, folder)
        for batch_size in cfg["batch_sizes"]:
            shape = (batch_size, size, size, 3)
            images = tf.constant(_float_images(batch_size, shape))
            flops = forward_flops(generator, shape)
            contenders = [
                Contender(
                    "ours",
                    function_step(_ours_function(generator), images),
                    flops,
                    "ours",
                    "Stylizer's tf.function (stylize, CLI)",
                    batch_size,
                ),
                Contender(
                    "ours_saved_model",
                    function_step(served, images),
                    flops,
                    "ours",
                    "exported SavedModel, serving_default",
                    batch_size,
                ),
            ]
            if settings["xla"]:
                contenders.append(
                    Contender(
                        "ours_xla",
                        function_step(_ours_function(generator, True), images),
                        flops,
                        "ours",
                        "tf.function, XLA",
                        batch_size,
                    )
                )
            contenders.append(
                Contender(
                    "keras_io",
                    function_step(peer_function, images),
                    forward_flops(peer, shape),
                    "peer",
                    "keras-io structure, tf.function",
                    batch_size,
                )
            )
            skipped = []
            add_torch_peer(
                contenders,
                skipped,
                "ResnetInference",
                (size, cfg["filters"], cfg["blocks"]),
                flops,
                "PyTorch reference structure, inference_mode",
                batch_size,
            )
            cases.append(
                measure_case(
                    f"W2 ResNet-9 inference, batch {batch_size}",
                    contenders,
                    settings,
                    log,
                    (),
                    skipped,
                    {**cfg, "batch_size": batch_size},
                )
            )
    return cases


def w4(settings, log):
    import tensorflow as tf

    from benchmarks.peers import tf_pix2pix
    from keras_styletransfer.models.generators import UNetGenerator
    from keras_styletransfer.seeding import seeded
    from keras_styletransfer.serving.inference import stylize

    cfg = settings["w4"]
    size = cfg["size"]
    with seeded(0):
        generator = UNetGenerator(
            num_downsamplings=cfg["downsamplings"],
            filters=cfg["filters"],
            max_filters=8 * cfg["filters"],
        )
        peer = tf_pix2pix.generator(size, cfg["filters"], cfg["downsamplings"])
    peer_function = tf.function(lambda x: peer(x, training=False))
    cases = []
    with tempfile.TemporaryDirectory() as folder:
        served = _exported(generator, folder)
        for batch_size in cfg["batch_sizes"]:
            shape = (batch_size, size, size, 3)
            floats = _float_images(batch_size, shape)
            photos = [((image + 1) * 127.5).astype(np.uint8) for image in floats]
            images = tf.constant(floats)
            flops = forward_flops(generator, shape)

            def through_stylize(photos=photos, batch_size=batch_size):
                stylize(generator, photos, batch_size=batch_size)

            def through_predict(floats=floats, batch_size=batch_size):
                generator.predict(floats, batch_size=batch_size, verbose=0)

            contenders = [
                Contender(
                    "ours_stylize",
                    through_stylize,
                    flops,
                    "ours",
                    "stylize() on uint8 photos (cached Stylizer)",
                    batch_size,
                ),
                Contender(
                    "ours_function",
                    function_step(_ours_function(generator), images),
                    flops,
                    "ours",
                    "Stylizer's tf.function on float images",
                    batch_size,
                ),
                Contender(
                    "ours_predict", through_predict, flops, "ours", "model.predict", batch_size
                ),
                Contender(
                    "ours_saved_model",
                    function_step(served, images),
                    flops,
                    "ours",
                    "exported SavedModel, serving_default",
                    batch_size,
                ),
            ]
            if settings["xla"]:
                contenders.append(
                    Contender(
                        "ours_xla",
                        function_step(_ours_function(generator, True), images),
                        flops,
                        "ours",
                        "tf.function, XLA",
                        batch_size,
                    )
                )
            contenders.append(
                Contender(
                    "tf_tutorial",
                    function_step(peer_function, images),
                    forward_flops(peer, shape),
                    "peer",
                    "TF tutorial structure, tf.function (training=False)",
                    batch_size,
                )
            )
            skipped = []
            add_torch_peer(
                contenders,
                skipped,
                "UNetInference",
                (size, cfg["filters"], cfg["downsamplings"]),
                flops,
                "PyTorch reference structure, inference_mode",
                batch_size,
            )
            cases.append(
                measure_case(
                    f"W4 U-Net inference, batch {batch_size}",
                    contenders,
                    settings,
                    log,
                    (),
                    skipped,
                    {**cfg, "batch_size": batch_size},
                )
            )
    return cases


def pipeline(settings, log):
    """Images per second the training input pipelines deliver on the embedded photo set."""
    from keras_styletransfer.config import TranslationConfig
    from keras_styletransfer.data.offline_photos import load_offline_style_set
    from keras_styletransfer.training.translation import build_dataset

    cfg = settings["pipeline"]
    started = time.perf_counter()
    data = load_offline_style_set(
        size=cfg["size"],
        styles=("pencil",),
        crops_per_photo=cfg["crops_per_photo"],
        test_crops_per_photo=0,
        cache_dir=cfg.get("cache_dir"),
    )
    build_seconds = time.perf_counter() - started
    families = {}
    for family in ("pix2pix", "cyclegan"):
        config = TranslationConfig(family=family, image_size=cfg["size"], styles=("pencil",))
        dataset = build_dataset(config, data)
        iterator = iter(dataset)
        next(iterator)  # the first batch fills the buffers
        started = time.perf_counter()
        for _ in range(cfg["batches"]):
            next(iterator)
        seconds = time.perf_counter() - started
        images = cfg["batches"] * config.batch_size
        families[family] = {
            "batch_size": config.batch_size,
            "batches": cfg["batches"],
            "seconds": round(seconds, 4),
            "images_per_second": round(images / seconds, 1),
        }
        log(f"    pipeline {family}: {images / seconds:.0f} images/s")
    return [
        {
            "case": "Input pipeline, embedded photos",
            "config": cfg,
            "offline_set_seconds": round(build_seconds, 3),
            "families": families,
            "contenders": {},
            "notes": ["offline_set_seconds: load_offline_style_set (crops + styles, or its cache)"],
            "skipped": [],
        }
    ]
