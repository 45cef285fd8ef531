"""Points pages, one module per workflow; access is decided in `access`."""
