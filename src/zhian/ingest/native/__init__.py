"""The native HTTP protocol: Zhian's own JSON, as one object, an array or NDJSON."""
