"""battrace: streaming traceability for lithium-ion batteries."""

__version__ = "0.1.0"
