"""Checks of parameter values shared by the estimator's modules."""

import numpy as np


def is_int(value):
    """True for an int or numpy integer, False for a bool (an int to Python)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def check_int(name, value, expected, *, minimum=0, maximum=None, type_error=TypeError):
    """Raise unless ``value`` is an int (not a bool) in ``[minimum, maximum]``.

    Parameters
    ----------
    name : str
        The parameter's name, first in the message.
    value : object
        The value to check.
    expected : str
        What the message says the value must be, e.g. ``"an int >= 0"``.
    minimum, maximum : int or None, default=0 and None
        The bounds, both included; None for no bound.
    type_error : type, default=TypeError
        The exception for a value that is not an int; a value out of bounds
        is a ValueError.

    Examples
    --------
    >>> from skdigits._validation import check_int
    >>> check_int("epochs", 3, "a positive int", minimum=1)
    >>> check_int("epochs", True, "a positive int", minimum=1)
    Traceback (most recent call last):
    ...
    TypeError: epochs must be a positive int, got True
    """
    message = f"{name} must be {expected}, got {value!r}"
    if not is_int(value):
        raise type_error(message)
    if (minimum is not None and value < minimum) or (
        maximum is not None and value > maximum
    ):
        raise ValueError(message)


def check_real(name, value, expected):
    """Refuse a parameter that is not a finite real number, naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"{name} must be a number {expected}, got {value!r}")
    if not np.isfinite(value):
        raise ValueError(f"{name} must be a number {expected}, got {value!r}")
