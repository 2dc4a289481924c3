"""Operational database plumbing: engine, sessions, declarative base, migrations."""
