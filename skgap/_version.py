"""The version of skgap, read statically at build time."""

__version__ = "0.3.0.dev0"
