"""Callbacks: one module per screen, wiring components to indicators/, geo/, streams/ (no maths here)."""
