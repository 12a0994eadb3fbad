"""portscope: what is listening here, which ephemeral ports are borrowed, and what port N is."""

__version__ = "0.1.0"
