"""msante: a local-first, end-to-end-encrypted personal health record."""

__version__ = "0.1.0"
__all__ = ["__version__"]
