"""Streaming rules: device health, alarms, watchlist hits, access patterns."""
