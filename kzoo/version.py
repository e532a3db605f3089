"""The version of kzoo (read by pyproject.toml and ``kzoo --version``)."""

__version__ = "0.1.0"
