"""The errors citeqa raises on purpose. The CLI and the web app turn them into messages."""

from __future__ import annotations


class CiteQAError(Exception):
    """Base class: a condition with a clear message for the user, never a bug."""


class CorpusError(CiteQAError):
    """The corpus folder is missing, empty, or holds no readable text."""


class IndexFolderError(CiteQAError):
    """Base for problems with an index folder."""


class IndexMissingError(IndexFolderError):
    """There is no index at the given folder."""


class IndexCorruptError(IndexFolderError):
    """The index folder fails verification (truncated, edited, unreadable files)."""


class IndexMismatchError(IndexFolderError):
    """The index was built with another embedder, settings or format version."""


class IndexStaleError(IndexFolderError):
    """The corpus changed since the index was built."""


class IndexLockedError(IndexFolderError):
    """Another build holds the index lock."""


class EmbedderUnavailableError(CiteQAError):
    """The packaged embedding model cannot be loaded."""


class InvalidQuestionError(CiteQAError, ValueError):
    """The question is empty or too long."""
