"""Loaders for handwritten digit datasets."""

from ._mnist import fetch_mnist

__all__ = ["fetch_mnist"]
