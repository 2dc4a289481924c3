"""Command-line entry points (Typer)."""
