"""The processes of a node report themselves: role, version, host, pid, lag and figures.

Each process that runs a node's loops (`zhian serve`, each web process of `serve --workers
N`, `zhian worker`) writes a heartbeat row into the operational database every few
seconds; a row not renewed within `EXPIRES_SECONDS` no longer counts. The status page and
`/metrics` of any web process list every live process of the node from these rows, on
whichever machine it runs (docs/operations.md).
"""
