"""dance: explainable video action recognition with disentangled concepts."""

__version__ = "0.1.0"
