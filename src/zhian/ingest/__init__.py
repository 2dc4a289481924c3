"""Event intake: protocol adapters that all end in one `Event` type and one validation path."""
