"""GA/T 1400 (视图库, VIID): the protocol adapter and the server a node runs for it.

Protocol code (`wire`, `digest`, `sessions`, `objects`, `mapping`, `query`, and the test
peers in `fake`) touches nothing of the platform but ingest base types. The server side
(`service`: credentials, sessions, the VIID object store; `subscriptions` and `push`:
subscriptions of lower platforms and their delivery; `models`, `repository`) keeps its
state in the database. The HTTP routes are in `zhian.web.viid_api`; the upward link to an
upper platform is `zhian.cascade`. See docs/interop-viid.md.
"""
