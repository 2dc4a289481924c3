"""The worker process: the background loops of a node, apart from its web process."""
