"""Message catalogues, one module per screen; each defines ZH and EN dictionaries."""
# ruff: noqa: E501  (one message per line reads better than split strings)
