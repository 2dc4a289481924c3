"""Alerts: lifecycle, SLA, routing, correlation, notifications and KPIs."""
