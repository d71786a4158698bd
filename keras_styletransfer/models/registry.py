"""Imports every module that registers a saveable class with Keras.

A `.keras` file names its classes as "keras_styletransfer>ClassName"; Keras finds them only once
the module defining them has run. Importing this module (the package's `__init__` and
`load_trained` do) makes a saved model of any family loadable.
"""

from keras_styletransfer import layers, optimizers  # noqa: F401
from keras_styletransfer.models import (  # noqa: F401
    composite,
    cut,
    cyclegan,
    discriminators,
    filters,
    gan,
    generators,
    multistyle,
    multistyle_paired,
    pix2pix,
)
