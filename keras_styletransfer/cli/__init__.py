"""The `keras-styletransfer` command: one module per sub-command, shared argument types in
`common`, the parser and dispatch in `main`."""

from keras_styletransfer.cli.main import main

__all__ = ["main"]
