"""Reading a folder of documents: formats, cleaning, sentences and passages."""
