"""Cascade (级联): the GA/T 1400 state a node keeps for its peers, and its upward link.

`viid_service` holds what the /VIID routes need beyond the protocol (Digest credentials,
sessions, the VIID object store, subscriptions), `push` delivers subscriptions, and
`viid_client` registers with an upper platform and forwards to it, caching durably.
"""
