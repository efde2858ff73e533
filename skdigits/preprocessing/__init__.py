"""From real digit images to MNIST form.

:class:`MNISTNormalizer` turns grey or colour digit images of any size,
polarity and value range into MNIST digits (white on black, fitted to a
20x20 box, centred by centre of mass in 28x28, uint8 0-255);
:func:`load_digit_images` reads image files for it.
"""

from ._image_io import load_digit_images
from ._normalizer import MNISTNormalizer

__all__ = ["MNISTNormalizer", "load_digit_images"]
