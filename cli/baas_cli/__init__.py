"""``baas``: the command line for running and administering a baas server."""

__version__ = "0.1.0"
