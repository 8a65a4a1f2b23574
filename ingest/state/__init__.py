"""State shared between nodes: cache, event bus, session store, rate limiter (see ``ports``)."""
