"""Screen layouts: one module per screen, building components only (no callbacks, no data access)."""
