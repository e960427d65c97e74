"""From a question to an answer: retrieval, the readers and abstention."""
