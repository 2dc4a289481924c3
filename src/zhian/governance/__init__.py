"""Governance: validation, masking, keyed tokens, field encryption, retention, data quality."""
