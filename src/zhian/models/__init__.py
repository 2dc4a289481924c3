"""Batch analytic models (issue #6): SQL over the event store, master data, parameters."""
