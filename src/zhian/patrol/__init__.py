"""Patrol check-ins and patrol reports from the phone (docs/phone.md, issue #19)."""
