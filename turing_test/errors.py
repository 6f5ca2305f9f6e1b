"""Errors the services raise; APIs turn them into 4xx responses with the message, pages into messages."""

from __future__ import annotations


class TuringError(Exception):
    """A request the study cannot honour; ``str(exc)`` is for the person who made it.

    ``extra`` holds machine-readable details the API adds next to ``detail`` (e.g. the allowed values).
    """

    status_code = 400

    def __init__(self, message: str, **extra):
        super().__init__(message)
        self.message = message
        self.extra = extra


class InvalidInput(TuringError):
    status_code = 400


class NotAllowed(TuringError):
    status_code = 403


class NotFound(TuringError):
    status_code = 404


class Conflict(TuringError):
    """The state forbids it now (locked assignment, closed study, wrong status)."""

    status_code = 409
