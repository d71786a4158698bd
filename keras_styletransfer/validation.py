"""The package's checks of user-given numbers and style choices, one rule each.

Every entry point (Python functions, the CLI, export, fusion, explain) validates through these, so
the same value is accepted or refused everywhere with the same message. They raise `InputError`
(a ValueError) quoting the value received and saying what is expected. NumPy only.
"""

from __future__ import annotations

import math
import numbers
import os

import numpy as np

from keras_styletransfer.errors import InputError


def check_int(value, name, low=1, high=None):
    """`value` as an int in [low, high] (bools refused), or an InputError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InputError(f"{name} must be an integer >= {low}; received {value!r}.")
    value = int(value)
    if value < low or (high is not None and value > high):
        limit = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise InputError(f"{name} must be an integer {limit}; received {value}.")
    return value


def physical_memory_bytes():
    """This machine's physical memory in bytes (None where the system does not say)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return None


def check_fits_in_memory(needed_bytes, what, advice, fraction=0.8):
    """Refuse work estimated to need more than `fraction` of the machine's memory, before it
    starts (an allocation that fails later aborts the process with `std::bad_alloc`).

    Args:
        needed_bytes: int. The estimate.
        what: str. The work, for the message ("a batch of 100000 images of 64x64x3").
        advice: str. What to do instead ("use a smaller --batch-size").
        fraction: float. Share of the physical memory allowed. Defaults to 0.8.

    Raises:
        InputError: saying what was asked, the estimate, the machine's memory and `advice`.
    """
    memory = physical_memory_bytes()
    if memory and needed_bytes > fraction * memory:
        raise InputError(
            f"{what} needs about {needed_bytes / 2**30:.1f} GiB, more than this machine's "
            f"{memory / 2**30:.1f} GiB of memory allows; {advice}."
        )
    return needed_bytes


def check_positive_int(value, name):
    """`value` as an int >= 1, or an InputError."""
    return check_int(value, name, low=1)


def check_number(value, name, low=None, high=None, low_open=False):
    """`value` as a finite float in the given range (bools refused), or an InputError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(f"{name} must be a number; received {value!r}.")
    value = float(value)
    below = low is not None and (value <= low if low_open else value < low)
    if not math.isfinite(value) or below or (high is not None and value > high):
        parts = []
        if low is not None:
            parts.append(f"> {low}" if low_open else f">= {low}")
        if high is not None:
            parts.append(f"<= {high}")
        limit = " and ".join(parts) or "finite"
        raise InputError(f"{name} must be a finite number {limit}; received {value!r}.")
    return value


def check_positive_number(value, name):
    """`value` as a finite float > 0, or an InputError."""
    return check_number(value, name, low=0.0, low_open=True)


def check_weight(value, name):
    """A loss or mixture weight as a finite float >= 0, or an InputError."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise InputError(f"`{name}` must be a number >= 0; received {value!r}.") from None
    if not (value >= 0 and math.isfinite(value)):  # also catches NaN
        raise InputError(f"`{name}` must be a finite number >= 0; received {value!r}.")
    return value


def check_strength(strength):
    """A style strength as a float in [0, 1] (0: the content image, 1: the full style)."""
    if isinstance(strength, bool):
        raise InputError(f"strength must be a number in [0, 1]; received {strength!r}.")
    try:
        value = float(strength)
    except (TypeError, ValueError):
        raise InputError(f"strength must be a number in [0, 1]; received {strength!r}.") from None
    if not 0.0 <= value <= 1.0:  # also refuses NaN
        raise InputError(
            f"strength must be in [0, 1] (0: the content image, 1: the full style); "
            f"received {value}."
        )
    return value


def style_weights(style, style_names):
    """The normalised weight vector of a style choice, under one set of rules.

    A choice is a style name, an index, a `{name or index: weight}` blend, or a sequence of one
    weight per style. Weights must be finite and >= 0 with a positive, finite sum; the result
    sums to 1. The same rules serve `stylize`, `fuse`, export and explain.

    Args:
        style: str, int, dict or sequence of numbers.
        style_names: list of str. The generator's style slots, in index order.

    Returns:
        float32 array `(len(style_names),)` summing to 1.

    Raises:
        InputError: an unknown name, an index out of range, or weights that break the rules.
    """
    names = [str(name) for name in style_names]
    if style is None:
        raise InputError(f"this model makes several styles; choose one: {names}.")

    def index_of(key):
        if isinstance(key, numbers.Integral) and not isinstance(key, bool):
            if 0 <= key < len(names):
                return int(key)
            raise InputError(f"style index {key} is out of range; valid: 0..{len(names) - 1}.")
        if isinstance(key, str) and key in names:
            return names.index(key)
        raise InputError(f"unknown style {key!r}; this model knows {names}.")

    if isinstance(style, dict):
        items = list(style.items())
    elif isinstance(style, str | numbers.Integral) and not isinstance(style, bool):
        items = [(style, 1.0)]
    else:
        values = np.asarray(style, dtype=np.float64).ravel()
        if values.shape != (len(names),):
            raise InputError(
                f"style weights need one entry per style ({len(names)}: {names}); received "
                f"{values.shape[0]}."
            )
        items = list(enumerate(values.tolist()))
    weights = np.zeros(len(names), np.float64)
    for key, weight in items:
        if isinstance(weight, bool):
            raise InputError(f"style weight of {key!r} must be a number; received {weight!r}.")
        try:
            weight = float(weight)
        except (TypeError, ValueError):
            raise InputError(
                f"style weight of {key!r} must be a number; received {weight!r}."
            ) from None
        if not (weight >= 0 and math.isfinite(weight)):
            raise InputError(f"style weights must be finite and >= 0; received {key!r}: {weight}.")
        with np.errstate(over="ignore"):
            weights[index_of(key)] += weight
    with np.errstate(over="ignore"):  # an overflowing sum is refused just below
        total = weights.sum()
    if not math.isfinite(total):
        raise InputError(
            f"style weights are too large to add up ({style!r}); use weights such as 0.3 and 0.7."
        )
    if total <= 0:
        raise InputError(f"style weights must not all be 0; received {style!r}.")
    return (weights / total).astype(np.float32)


def parse_name_weights(text, option="--blend"):
    """'pencil=0.3,cartoon=0.7' -> {'pencil': 0.3, 'cartoon': 0.7}, or a clear InputError.

    Only the syntax is checked here; `style_weights` applies the rules on the weights.
    """
    weights = {}
    for item in str(text).split(","):
        name, separator, value = item.partition("=")
        try:
            weights[name.strip()] = float(value)
        except ValueError:
            separator = ""
        if not separator or not name.strip():
            raise InputError(
                f"{option} takes name=weight pairs separated by commas, e.g. "
                f"pencil=0.3,cartoon=0.7; received {text!r}."
            )
    return weights
