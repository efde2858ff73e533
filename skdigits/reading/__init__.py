"""Read digit fields off forms: whole numbers from one image.

:func:`read_digits` segments an image of a field (a postcode, an amount, a
date, an ID) into its digits and classifies them in one batch, giving a
:class:`FieldReading` per image: the text, each digit's probabilities and
box, and the digits the classifier is not sure of. :func:`segment_digits`
gives the boxes of the ink alone, without a classifier. Nothing here imports
TensorFlow until a classifier is loaded.
"""

from ._read import FieldReading, read_digits
from ._segment import segment_digits

__all__ = ["FieldReading", "read_digits", "segment_digits"]
