"""corpuscope: training-data transparency — search, statistics and data-subject requests."""

__version__ = "0.1.0"
