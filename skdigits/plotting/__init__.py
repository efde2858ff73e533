"""Figures of a digit classifier: learning curves and sample predictions.

The displays follow scikit-learn's Display API: ``from_estimator`` computes
what to show and draws it, ``plot`` draws it again (on Axes of your choosing),
and the Matplotlib artists are attributes ending in ``_``. Matplotlib is
imported only when something is drawn.

- :class:`TrainingHistoryDisplay`: accuracy and loss per epoch, training and
  validation, with the epoch early stopping kept marked and the learning rate
  drawn on a second axis of the loss panel.
- :class:`SamplePredictionsDisplay`: a grid of digit images titled with the
  predicted and true labels, green when right and red when wrong; with
  ``mistakes_only=True``, the most confident mistakes.
- :class:`FieldReadingDisplay`: a form field with the digits
  :func:`~skdigits.read_digits` read boxed and labelled, green when
  confident and red when rejected.

The confusion matrix is scikit-learn's own
:class:`~sklearn.metrics.ConfusionMatrixDisplay`, which works on
:class:`~skdigits.CNNDigitClassifier` as on any classifier::

    from sklearn.metrics import ConfusionMatrixDisplay
    ConfusionMatrixDisplay.from_estimator(clf, X_test, y_test)

See Also
--------
sklearn.metrics.ConfusionMatrixDisplay : The confusion matrix.
"""

from ._history import TrainingHistoryDisplay
from ._predictions import SamplePredictionsDisplay
from ._reading import FieldReadingDisplay

__all__ = ["FieldReadingDisplay", "SamplePredictionsDisplay", "TrainingHistoryDisplay"]
