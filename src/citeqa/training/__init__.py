"""Training the span reader and fitting its abstention."""
