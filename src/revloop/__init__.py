"""revloop: closes the revenue loop of a managed service provider."""

__version__ = "0.1.0"
