"""Test-time augmentation: the views of each image that prediction averages over."""

import numpy as np

from ._validation import check_int


def check_shift(shift):
    """Raise unless ``shift`` (the ``tta_shift`` parameter) is an int >= 0."""
    check_int("tta_shift", shift, "an int >= 0")


def shifted_views(images, shift):
    """The images, then copies shifted by ``shift`` pixels left, right, up, down.

    Pixels uncovered by a shift are 0, the background of MNIST-form digits
    (white ink on black), as in the training-time augmentation.

    Parameters
    ----------
    images : ndarray of shape (n_images, height, width, channels)
        A batch of images.
    shift : int
        Pixels to shift by; 0 yields the images alone.

    Yields
    ------
    ndarray of shape (n_images, height, width, channels)
        Five views (one without ``shift``), each of the input's dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from skdigits._tta import shifted_views
    >>> image = np.arange(1, 10, dtype=np.float32).reshape(1, 3, 3, 1)
    >>> [view[0, :, :, 0].tolist() for view in shifted_views(image, 1)][1]
    [[2.0, 3.0, 0.0], [5.0, 6.0, 0.0], [8.0, 9.0, 0.0]]
    """
    yield images
    if not shift:
        return
    for axis in (2, 1):  # width, then height
        side = images.shape[axis]
        for direction in (-1, 1):
            view = np.zeros_like(images)
            if shift < side:
                kept = [slice(None)] * images.ndim
                source = [slice(None)] * images.ndim
                if direction < 0:  # content moves towards index 0
                    kept[axis], source[axis] = (
                        slice(0, side - shift),
                        slice(shift, None),
                    )
                else:
                    kept[axis], source[axis] = (
                        slice(shift, None),
                        slice(0, side - shift),
                    )
                view[tuple(kept)] = images[tuple(source)]
            yield view


def mean_proba(forward, images, shift, batch_size):
    """The probabilities of ``images``, each averaged over its views.

    The views of a run of images go through ``forward`` in one call of at
    most ``batch_size`` images (or one image's five views, if more): five
    calls on a few images cost about twice one call on all of them.

    Parameters
    ----------
    forward : callable
        Maps a batch of images to their probabilities (anything
        ``numpy.asarray`` takes), one row per image.
    images : ndarray of shape (n_images, height, width, channels)
        The images.
    shift : int
        As for :func:`shifted_views`; 0 predicts the images alone.
    batch_size : int
        The most images per call of ``forward``.

    Returns
    -------
    ndarray of shape (n_images, n_classes)
        float64 probabilities: the mean over the views of each image.

    Examples
    --------
    >>> import numpy as np
    >>> from skdigits._tta import mean_proba
    >>> def ink_share(batch):  # a toy "network": the share of ink a view keeps
    ...     kept = batch.sum(axis=(1, 2, 3)) / 9.0
    ...     return np.stack([kept, 1 - kept], axis=1)
    >>> images = np.ones((2, 3, 3, 1), dtype=np.float32)
    >>> mean_proba(ink_share, images, 1, batch_size=4).round(3).tolist()
    [[0.733, 0.267], [0.733, 0.267]]
    """
    n_views = 5 if shift else 1
    step = max(1, batch_size // n_views)
    outputs = []
    for start in range(0, len(images), step):
        chunk = images[start : start + step]
        views = np.concatenate(list(shifted_views(chunk, shift))) if shift else chunk
        proba = np.asarray(forward(views)).reshape(n_views, len(chunk), -1)
        outputs.append(proba.mean(axis=0, dtype=np.float64))
    return np.concatenate(outputs)
