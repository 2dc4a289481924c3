"""HTTP entry point: REST API, pages and static assets."""
