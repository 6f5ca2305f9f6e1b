"""Errors raised by the generation engine.

Every error a caller should show to a user derives from :class:`GenerationError`, so a job runner
can catch one class and store ``str(exc)`` as the user-facing message.
"""

from __future__ import annotations

from collections.abc import Iterable

#: Environment variable naming the directory that holds ``<preset>/`` weight folders.
WEIGHTS_ENV_VAR = "RADSYNTH_WEIGHTS_DIR"


class GenerationError(Exception):
    """Base class of every engine error; the message is meant for the end user."""


class InvalidRequest(GenerationError, ValueError):
    """The request is malformed or a value is outside its allowed range."""


class UnknownPreset(GenerationError, KeyError):
    """The preset name is not one of the shipped presets."""

    def __init__(self, name: str, available: Iterable[str]):
        self.name = name
        self.available = sorted(available)
        super().__init__(
            f"Unknown preset {name!r}. Available presets: {', '.join(self.available) or '(none)'}."
        )

    def __str__(self) -> str:  # KeyError would otherwise wrap the message in quotes
        return str(self.args[0])


class MissingWeights(GenerationError, FileNotFoundError):
    """A weights file or directory that the preset needs is absent."""

    def __init__(self, path: str, preset: str, role: str = "weights"):
        self.path = str(path)
        self.preset = preset
        self.role = role
        super().__init__(
            f"Missing {role} for preset {preset!r}: {self.path} does not exist. "
            f"Put the file there, or set {WEIGHTS_ENV_VAR} to a directory that contains "
            f"'{preset}/' with the preset's files (see `python manage.py models`)."
        )

    def __str__(self) -> str:
        return str(self.args[0])


class OutOfMemory(GenerationError, MemoryError):
    """The device ran out of memory; a smaller preset or fewer samples may fit."""

    def __init__(self, preset: str, device: str, detail: str = ""):
        self.preset = preset
        self.device = device
        hint = "Try the 'demo' preset" if preset != "demo" else "Try fewer samples"
        super().__init__(
            f"Out of memory on {device} while running preset {preset!r}. "
            f"{hint}, fewer samples, or a device with more memory."
            + (f" ({detail})" if detail else "")
        )


class Cancelled(GenerationError):
    """The caller asked to stop (``should_cancel()`` returned True)."""
