"""revcycle: a revenue-cycle pipeline for US healthcare providers (the Prefect-free core)."""

__version__ = "0.1.0"
