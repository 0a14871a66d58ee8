"""qamera-widgets."""
