"""Helpers that sphinx-gallery calls while it runs the examples."""

import sys


def reset_keras(gallery_conf, fname):
    """Clear Keras' global state (models, layer-name counters) between examples.

    Registered in ``sphinx_gallery_conf["reset_modules"]``. Keras is not
    imported here if no example has imported it yet.
    """
    keras = sys.modules.get("keras")
    if keras is not None:
        keras.backend.clear_session()
