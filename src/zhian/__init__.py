"""Zhian 治安: an open platform for community public safety."""

__version__ = "0.1.0"
