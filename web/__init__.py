"""Flask routes that serve data to the browser by URL (map layers, boundaries, health)."""
