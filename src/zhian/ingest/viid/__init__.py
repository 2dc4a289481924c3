"""GA/T 1400 (视图库, VIID): wire format, Digest auth, sessions and mapping to Zhian events.

Protocol code only: nothing here touches the database, the log or the store. The stateful
side (credentials, the VIID object store, subscriptions, the upward client) lives in
`zhian.cascade`; the HTTP routes in `zhian.web.viid_api`. See docs/interop-viid.md.
"""
