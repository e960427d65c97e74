"""citeqa."""
