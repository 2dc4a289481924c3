"""The audit log: an append-only, hash-chained record of who did what to which data, and why."""
