"""The estimator's defaults before they changed, for what was made with them.

Kept apart from ``_classifier`` (which imports Keras) so that the benchmark
scripts read them without starting TensorFlow.
"""

import types

# The defaults of the parameters whose default changed in skdigits 0.1's
# development (session 7: the 5 x 5-first, augmented network trained on
# every image became the default): what model files written before, and
# configurations measured before, mean when they leave those parameters out.
# Frozen: it describes what was, and never changes.
PREVIOUS_DEFAULTS = types.MappingProxyType(
    {
        "filters": (16, 32),
        "kernel_size": 3,
        "convs_per_block": 2,
        "dense_units": 128,
        "rotation_range": 0.0,
        "shift_range": 0.0,
        "zoom_range": 0.0,
        "epochs": 9,
        "validation_split": 0.1,
    }
)
