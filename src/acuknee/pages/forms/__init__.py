"""Django forms of the clinic app, one module per slice; each failed form stores nothing."""
