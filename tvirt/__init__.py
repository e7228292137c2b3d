"""tvirt core: connections, model and actions. Never imports textual."""

__version__ = "0.1.0"
