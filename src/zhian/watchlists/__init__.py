"""Watchlists (布控): plates and persons under a legal basis, with an expiry."""
