"""The package's error types: each is a ValueError, so code catching ValueError keeps working."""


class InputError(ValueError):
    """Bad input from the user (a file, a folder, an array, an option): the message says what was
    wrong and what to do. The CLI prints it as one line, without a traceback."""


class DataSourceError(InputError):
    """A data source that cannot be read here (missing folder, unprepared TFDS dataset, ...)."""
