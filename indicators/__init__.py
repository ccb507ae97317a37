"""Indicator and warning maths (pure functions) and the RQ jobs that run them."""
