"""Devices: what they are, where they stand, and the credentials they post with."""
