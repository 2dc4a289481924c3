"""Resident tips (随手拍): reports from the public, their triage and their follow-up."""
