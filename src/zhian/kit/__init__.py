"""Domain-free helpers: clocks, identifiers, units."""
