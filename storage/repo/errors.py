"""The errors repository functions raise on purpose."""

from __future__ import annotations


class StorageError(Exception):
    """Base of the errors repository functions raise on purpose."""


class AlreadyExists(StorageError):
    """A row with this unique key is already there."""


class IdentityTaken(StorageError):
    """A platform identity already belongs to another member."""


class ScoreLocked(StorageError):
    """A locked score cannot be recomputed or changed."""
