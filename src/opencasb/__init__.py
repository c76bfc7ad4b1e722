"""OpenCASB: a self-hosted cloud access security broker."""

__version__ = "0.1.0"
__all__ = ["__version__"]
