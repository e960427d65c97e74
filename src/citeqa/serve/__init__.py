"""The web chat and its JSON API."""
