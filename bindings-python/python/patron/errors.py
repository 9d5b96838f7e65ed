"""Exceptions raised by patron.

Every exception is a :class:`PatronError`; catch that to catch them all. Each
carries a stable ``code`` (the same string in Rust, Python and Node), and where
it applies the field ``path`` (``"lines[2].quantity"``) and the ``line`` and
``column`` in JSON text.
"""

from __future__ import annotations


class PatronError(Exception):
    """Base of every patron error."""

    code: str
    path: str | None
    line: int | None
    column: int | None

    def __init__(
        self,
        message: str,
        *,
        code: str = "patron",
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.path = path
        self.line = line
        self.column = column


class ValidationError(PatronError, ValueError):
    """A value is missing, of the wrong type, or out of range (code ``validation``)."""


class JsonError(ValidationError):
    """The input is not well-formed JSON text (code ``json``); ``line`` and ``column`` say where."""


class ConsentTransitionError(PatronError, ValueError):
    """A consent change the current consent state does not allow (code ``consent_transition``)."""


class ConvergenceError(PatronError):
    """A model fit or a series that did not converge (code ``convergence``)."""


class IoError(PatronError, OSError):
    """Reading the input or writing the output failed (code ``io``): a path that cannot be opened, a full disk."""


__all__ = ["PatronError", "ValidationError", "JsonError", "ConsentTransitionError", "ConvergenceError", "IoError", "TemplateError", "ExhaustedError", "LimitError"]


class TemplateError(PatronError, ValueError):
    """A message template that does not compile or render; ``path`` names the part, ``line`` and ``column`` the place."""


class ExhaustedError(PatronError):
    """A coupon pool with no code left to issue."""


class LimitError(PatronError, ValueError):
    """A call reached a limit that keeps it bounded (code ``limit``; docs/limits.md) and stopped; ``path`` says where."""


class StoreError(PatronError):
    """Base of the store's own errors: the database file, the disk, a channel."""


class CorruptError(StoreError):
    """The file is not a patron store, or it is damaged or cut short (code ``corrupt``); nothing was changed."""


class NewerSchemaError(StoreError):
    """The store file was written by a newer patron (code ``newer_schema``); upgrade patron to open it."""


class DiskFullError(StoreError, OSError):
    """The disk (or the file's size limit) is full (code ``full``); the call's transaction was rolled back."""


class BusyError(StoreError):
    """Another process held the store file locked longer than the busy timeout (code ``busy``)."""


class DatabaseError(StoreError):
    """Any other database failure (code ``database``)."""


class NoConfigError(StoreError):
    """The store file has no config yet (code ``no_config``): open it with one."""


class ChannelError(StoreError):
    """A channel that cannot be set up, such as a bad SMTP address (code ``channel``)."""


__all__ += [
    "StoreError", "CorruptError", "NewerSchemaError", "DiskFullError", "BusyError", "DatabaseError",
    "NoConfigError", "ChannelError",
]
