"""What one replica of a distributed step sees: its position, its share of random draws, the
global batch, and logs every strategy can reduce.

These sit below the models (the wrappers' steps and the image pool use them); the strategies
themselves live in `keras_styletransfer.distribute`.
"""

from __future__ import annotations

import tensorflow as tf


def replica_position():
    """`(replica_id, num_replicas)` of the replica running this code; `(0, 1)` without a strategy.

    Under `MirroredStrategy` / `MultiWorkerMirroredStrategy` every replica runs `train_step` on
    its slice of the global batch: replica `r` of `n` holds examples `r * local : (r + 1) * local`.
    """
    context = tf.distribute.get_replica_context()
    if context is None:  # cross-replica context: no single replica is running
        return 0, 1
    return context.replica_id_in_sync_group, context.num_replicas_in_sync


def draw_for_this_replica(draw, local_batch_size):
    """This replica's slice of a random draw made for the whole global batch.

    Every replica holds the same seed state, so a plain draw of the local batch size would give
    every replica the *same* values (and a different stream from one device). Drawing the global
    batch's values from the shared seed and keeping this replica's rows gives exactly what one
    device draws for the same global batch, whatever the number of replicas. It assumes equal
    local batches (an uneven last batch still gets valid, but not single-device, values).

    Args:
        draw: callable `draw(batch_size) -> tensor (batch_size, ...)`, e.g. a `keras.random` call
            with the model's `SeedGenerator`.
        local_batch_size: int or scalar tensor. This replica's batch size.

    Returns:
        A tensor `(local_batch_size, ...)`.
    """
    replica_id, replicas = replica_position()
    if replicas == 1:
        return draw(local_batch_size)
    values = draw(local_batch_size * replicas)
    start = replica_id * local_batch_size
    return values[start : start + local_batch_size]


def gather_over_replicas(values):
    """The global batch of `values` (concatenated over replicas in replica order) on every replica.

    Outside a multi-replica step it returns `values` unchanged. Used where one replica's slice is
    not enough: pairs of examples that span replicas, and the image pools' shared history.
    """
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return values
    return context.all_gather(values, axis=0)


def in_multi_worker_mode():
    """Whether the running strategy spans several worker processes."""
    strategy = tf.distribute.get_strategy()
    extended = getattr(strategy, "extended", None)
    in_mode = getattr(extended, "_in_multi_worker_mode", None)
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and bool(
        in_mode and in_mode()
    )


def as_step_logs(logs):
    """A step's logs in the shape `fit` / `evaluate` can reduce under every strategy.

    Keras 3 reduces each log value of a multi-worker step with
    `strategy.reduce("MEAN", value, axis=0)`, which fails on scalars ("Invalid reduction dimension
    0 for input with 0 dimensions", tensorflow/tensorflow#72388). There the scalars are returned
    as shape (1,) tensors; the reduction gives back the same scalar (the trackers already hold
    the global value on every worker). Elsewhere the logs are returned unchanged.
    """
    if not in_multi_worker_mode():
        return logs
    return {
        name: tf.reshape(value, [-1]) if value.shape.rank == 0 else value
        for name, value in logs.items()
    }
