"""The version of skgap, read statically at build time."""

__version__ = "0.2.0"
