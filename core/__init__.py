"""Cross-cutting pieces: settings, Redis key names, Redis connection and the embedded server."""
