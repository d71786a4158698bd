"""One worker of the multi-worker test: `python -m tests.multiworker_worker RUN_DIR OUT.npz`.

TF_CONFIG (set by the test) says which worker this process is. It trains the mnist_dcgan preset
for two epochs of two steps with `training.train` under the "multi_worker" strategy, then writes
every weight of its GAN to OUT.npz so the test can compare the workers.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np

from keras_styletransfer.config import TrainConfig
from keras_styletransfer.training import noise as training


def main(run_dir, output):
    config = TrainConfig(
        preset="mnist_dcgan",
        epochs=2,
        batch_size=8,
        steps_per_epoch=2,
        seed=5,
        strategy="multi_worker",
    )
    result = training.train(config, run_dir, verbose=0)
    gan = result.model
    np.savez(
        output,
        iterations=int(gan.generator_optimizer.iterations.numpy()),
        d_loss=result.history["d_loss"][-1],
        **{f"w{index}": np.array(v.numpy()) for index, v in enumerate(gan.variables)},
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
