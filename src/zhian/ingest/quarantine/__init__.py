"""Quarantine: rejected input kept verbatim with its reasons, replayable after a fix."""
