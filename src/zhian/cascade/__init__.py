"""Cascade (级联): the upward link of a node to an upper GA/T 1400 platform.

`viid_client` registers with the upper platform and forwards to it what it subscribed to,
through a durable outbox (`models`, `repository`). The GA/T 1400 server a node runs for its
devices and lower platforms lives with the protocol adapter in `zhian.ingest.viid`;
`component` wires the two together for the composition root.
"""
