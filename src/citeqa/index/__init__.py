"""The index folder: embedding passages, building, storing and verifying it."""
