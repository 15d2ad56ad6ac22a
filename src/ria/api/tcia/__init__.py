"""TCIA / NBIA REST API compatibility routes."""
