"""ringfence: run AI agents inside an isolation boundary with an egress proxy outside it."""

__version__ = "0.1.0"
