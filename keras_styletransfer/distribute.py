"""Training on several devices or machines: strategies by name, chief-only writing, precision.

`get_strategy(name)` returns a `tf.distribute.Strategy`; the run skeleton (`training.run`) builds
the models, optimizers and metrics under its scope and lets `fit` split each *global* batch over
the replicas. The adversarial wrappers are written so
that N replicas make the same update as one device on the same global batch: losses are reduced
over the global batch, noise is drawn for the global batch and sliced per replica, the CycleGAN
image pools are one shared history, and batch normalisation can be synchronised
(`synchronize_batch_norm`).

Several machines (`"multi_worker"`) are described by the `TF_CONFIG` environment variable, e.g. on
the first of two machines::

    TF_CONFIG='{"cluster": {"worker": ["host1:12345", "host2:12345"]},
                "task": {"type": "worker", "index": 0}}'

and the same with `"index": 1` on the second. Worker 0 (or the task of type "chief") is the chief:
it alone writes checkpoints and final files; the others write theirs to a temporary folder that is
deleted (every worker must still *run* the saving code, because saving reads values that are
reduced over all workers).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile

from keras_styletransfer.errors import InputError

# Distribution strategies and precision policies by name (checked before TensorFlow loads).
STRATEGY_NAMES = ("auto", "default", "mirrored", "multi_worker")
PRECISION_POLICIES = ("none", "mixed_float16", "mixed_bfloat16")

_TF_CONFIG_EXAMPLE = (
    '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
    '"task": {"type": "worker", "index": 0}}'
)


def check_distribution(strategy, policy):
    """Check a strategy name and a mixed precision policy name (no TensorFlow import).

    Raises:
        InputError: for an unknown name, listing the choices.
    """
    if strategy not in STRATEGY_NAMES:
        raise InputError(
            f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGY_NAMES)}."
        )
    if policy not in PRECISION_POLICIES:
        raise InputError(
            f"unknown mixed precision policy {policy!r}; choose one of "
            f"{', '.join(PRECISION_POLICIES)}."
        )


def logical_cpu_devices(count):
    """Split the host CPU into `count` logical devices, for trying distribution without GPUs.

    This must run before TensorFlow initialises its devices, i.e. before the first op, tensor or
    model is created in the process (tests do it in `conftest.py`). If the devices already exist
    in the wanted number it just returns them.

    Args:
        count: int. Number of logical CPU devices, >= 1.

    Returns:
        The list of logical CPU device names, e.g. `["/device:CPU:0", "/device:CPU:1"]`.

    Raises:
        InputError: for a bad count, or when TensorFlow has already initialised fewer devices.
    """
    import tensorflow as tf

    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise InputError(f"count must be an integer >= 1; received {count!r}.")
    cpus = tf.config.list_physical_devices("CPU")
    # RuntimeError: already initialised; accepted below when the devices are there.
    with contextlib.suppress(RuntimeError):
        tf.config.set_logical_device_configuration(
            cpus[0], [tf.config.LogicalDeviceConfiguration()] * count
        )
    devices = [device.name for device in tf.config.list_logical_devices("CPU")]
    if len(devices) < count:
        raise InputError(
            f"TensorFlow has already initialised {len(devices)} logical CPU device(s), so "
            f"{count} cannot be made any more. Call logical_cpu_devices({count}) at the start of "
            "the program, before any TensorFlow op runs."
        )
    return devices[:count]


def read_tf_config(environ=None):
    """The parsed and checked `TF_CONFIG` of a multi-worker run.

    Args:
        environ: mapping. Defaults to `os.environ`.

    Returns:
        A dict with "cluster" (task type -> list of "host:port") and "task" ({"type", "index"}).

    Raises:
        InputError: when `TF_CONFIG` is missing, not JSON, or inconsistent, with an example.
    """
    environ = os.environ if environ is None else environ
    text = environ.get("TF_CONFIG", "")
    hint = f"Set TF_CONFIG on every machine, e.g. {_TF_CONFIG_EXAMPLE} (index 1 on the second)."
    if not text.strip():
        raise InputError(f"the multi_worker strategy needs the TF_CONFIG variable. {hint}")
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"TF_CONFIG is not valid JSON ({error}). {hint}") from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not cluster:
        raise InputError(f"TF_CONFIG has no 'cluster' mapping of task type to addresses. {hint}")
    for task_type, addresses in cluster.items():
        if task_type not in ("chief", "worker", "evaluator", "ps"):
            raise InputError(
                f"TF_CONFIG's cluster has a task type {task_type!r}; use 'worker' (and "
                f"optionally one 'chief'). {hint}"
            )
        if not isinstance(addresses, list) or not addresses:
            raise InputError(
                f"TF_CONFIG's cluster[{task_type!r}] must be a list of 'host:port'; "
                f"received {addresses!r}."
            )
    if "ps" in cluster:
        raise InputError(
            "TF_CONFIG describes parameter servers ('ps'); this package trains with "
            "MultiWorkerMirroredStrategy, which takes 'worker' (and 'chief') tasks only."
        )
    if not isinstance(task, dict) or task.get("type") not in cluster:
        raise InputError(
            f"TF_CONFIG's 'task' must name one of the cluster's task types {sorted(cluster)}; "
            f"received {task!r}. {hint}"
        )
    index = task.get("index", 0)
    if isinstance(index, bool) or not isinstance(index, int):
        raise InputError(f"TF_CONFIG's task index must be an integer; received {index!r}.")
    if not 0 <= index < len(cluster[task["type"]]):
        raise InputError(
            f"TF_CONFIG's task index {index} is out of range for the "
            f"{len(cluster[task['type']])} {task['type']!r} address(es)."
        )
    return {"cluster": cluster, "task": {"type": task["type"], "index": index}}


def get_strategy(name="auto", devices=None):
    """A `tf.distribute.Strategy` by name.

    Args:
        name: str. One of:
            "default": one device (TensorFlow's default strategy);
            "mirrored": `MirroredStrategy` over `devices`, or every GPU, or (with no GPU) every
                logical CPU device;
            "multi_worker": `MultiWorkerMirroredStrategy` over the machines in `TF_CONFIG` (create
                it at the start of the program, before any TensorFlow op);
            "auto": "mirrored" when more than one GPU is visible, else "default".
            Defaults to "auto".
        devices: list of str. Devices for "mirrored". Defaults to None (see above).

    Returns:
        A `tf.distribute.Strategy`.

    Raises:
        InputError: for an unknown name (the choices are listed) or a bad `TF_CONFIG`.
    """
    import tensorflow as tf

    if name not in STRATEGY_NAMES:
        raise InputError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGY_NAMES)}.")
    if devices is not None and name != "mirrored":
        raise InputError(f"devices are chosen only for the 'mirrored' strategy, not {name!r}.")
    if name == "auto":
        gpus = tf.config.list_logical_devices("GPU")
        name = "mirrored" if len(gpus) > 1 else "default"
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        if devices is None:
            found = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
            devices = [device.name for device in found]
        devices = list(devices)
        cross_device_ops = None
        if all("CPU" in device.upper() for device in devices):
            # Logical CPU devices: TensorFlow's default collectives there can pair one replica's
            # batch-norm reduction with another replica's gradient reduction (both replicas
            # trace in parallel threads), and the step aborts with "Shape mismatch in the
            # collective instance". Reducing through one device keeps every reduction in step.
            cross_device_ops = tf.distribute.ReductionToOneDevice()
        return tf.distribute.MirroredStrategy(devices, cross_device_ops=cross_device_ops)
    read_tf_config()  # a clear error before TensorFlow's own
    return tf.distribute.MultiWorkerMirroredStrategy()


def num_replicas(strategy):
    """Replicas that share each global batch (devices x workers)."""
    return int(strategy.num_replicas_in_sync)


def check_global_batch_size(batch_size, strategy):
    """Refuse a global batch that the strategy's replicas cannot share equally.

    `batch_size` is always the global batch: `fit` gives each of N replicas `batch_size / N`
    examples. Equal shares are what make N replicas draw the same noise as one device.

    Raises:
        InputError: when `batch_size` is not a multiple of the number of replicas.
    """
    replicas = num_replicas(strategy)
    if batch_size % replicas:
        raise InputError(
            f"batch size {batch_size} cannot be split equally over {replicas} replicas; the "
            f"batch size is the global batch, so use a multiple of {replicas} (e.g. "
            f"{max(replicas, batch_size - batch_size % replicas)})."
        )


def worker_task(strategy=None):
    """`(task_type, task_id)` of this process in a multi-worker run; `(None, None)` otherwise."""
    resolver = getattr(strategy, "cluster_resolver", None) if strategy is not None else None
    if resolver is not None and getattr(resolver, "task_type", None) is not None:
        return resolver.task_type, int(resolver.task_id or 0)
    if strategy is None and os.environ.get("TF_CONFIG"):
        task = read_tf_config()["task"]
        return task["type"], task["index"]
    return None, None


def is_chief(strategy=None):
    """Whether this process writes the run's files: always, except on non-chief workers.

    The chief is the task of type "chief", or worker 0 when the cluster has no "chief" task.

    Args:
        strategy: tf.distribute.Strategy. Defaults to None: read `TF_CONFIG` when it is set.
    """
    task_type, task_id = worker_task(strategy)
    if task_type is None or task_type == "chief":
        return True
    if task_type != "worker":
        return False
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is not None:
        has_chief = "chief" in resolver.cluster_spec().as_dict()
    else:
        has_chief = "chief" in read_tf_config()["cluster"]
    return not has_chief and task_id == 0


def worker_path(path, strategy=None):
    """Where this process writes `path`: `path` itself on the chief, a private temporary copy
    location elsewhere (Keras' multi-worker guide's `write_filepath`).

    Every worker must run the same saving code (saving reads values reduced over all workers),
    but only the chief's files are kept. Remove the others with `remove_worker_files`.

    Args:
        path: str. A file or folder path of the run.
        strategy: tf.distribute.Strategy. Defaults to None (read `TF_CONFIG`).

    Returns:
        str.
    """
    if is_chief(strategy):
        return str(path)
    root = _worker_root(strategy)
    relative = os.path.splitdrive(os.path.abspath(str(path)))[1].lstrip(os.sep)
    return os.path.join(root, relative)


def _worker_root(strategy):
    task_type, task_id = worker_task(strategy)
    return os.path.join(tempfile.gettempdir(), f"keras_styletransfer_{task_type}_{task_id}")


def remove_worker_files(path, strategy=None):
    """Delete what a non-chief wrote for `path`, and its emptied folders (nothing on the chief)."""
    if is_chief(strategy):
        return
    target = worker_path(path, strategy)
    if os.path.isdir(target):
        shutil.rmtree(target, ignore_errors=True)
    elif os.path.exists(target):
        os.remove(target)
    root = os.path.abspath(_worker_root(strategy))
    folder = os.path.dirname(os.path.abspath(target))
    while folder.startswith(root) and os.path.isdir(folder) and not os.listdir(folder):
        os.rmdir(folder)
        folder = os.path.dirname(folder)


def synchronize_batch_norm(model):
    """Make every `BatchNormalization` layer of `model` compute batch statistics over all replicas.

    Without it each replica normalises its slice with the slice's own mean and variance, so N
    replicas train a different model from one device (and small per-replica batches give noisy
    statistics). Synchronised layers all-reduce the moments: the forward pass, the gradients and
    the moving statistics equal one device's on the global batch. The flag is saved in the
    layer's config. Outside a strategy it changes nothing.

    Args:
        model: keras.Model (nested models are searched too).

    Returns:
        int. The number of layers switched.
    """
    import keras

    count = 0
    for layer in _all_layers(model):
        if isinstance(layer, keras.layers.BatchNormalization) and not layer.synchronized:
            layer.synchronized = True
            count += 1
    return count


def _all_layers(model):
    for layer in getattr(model, "layers", []):
        yield layer
        if hasattr(layer, "layers"):
            yield from _all_layers(layer)


def set_mixed_precision(policy):
    """Set Keras' global dtype policy; returns the previous policy's name.

    Args:
        policy: str. "none" (or "float32") for full precision, "mixed_float16" (GPUs: float16
            compute, float32 weights; the wrappers then wrap both optimizers in
            `keras.optimizers.LossScaleOptimizer`) or "mixed_bfloat16" (TPUs and recent GPUs/CPUs;
            no loss scaling needed). Set it before the models are built.

    Returns:
        str. The previous global policy name, to restore it with `set_mixed_precision(previous)`.
    """
    import keras

    choices = {"none": "float32", "float32": "float32", None: "float32"}
    choices.update({name: name for name in PRECISION_POLICIES[1:]})
    if policy not in choices:
        raise InputError(
            f"unknown mixed precision policy {policy!r}; choose one of "
            f"{', '.join(PRECISION_POLICIES)}."
        )
    previous = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy(choices[policy])
    return previous


@contextlib.contextmanager
def mixed_precision(policy):
    """Context manager: the global dtype policy `policy` inside, the previous one restored after."""
    import keras

    previous = set_mixed_precision(policy)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)
