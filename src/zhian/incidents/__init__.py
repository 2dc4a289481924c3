"""Incidents from sources beyond devices and tips: imported emergency-call records (110 警情)."""
