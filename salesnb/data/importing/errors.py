"""Errors an import can raise, each saying what to change in the export or the mapping."""

from __future__ import annotations

from salesnb.errors import SalesnbError


class ImportFailedError(SalesnbError):
    """Base class: the export could not be turned into a dataset. Nothing was written."""


class SourceError(ImportFailedError):
    """The export file, folder or database cannot be read."""


class MappingError(ImportFailedError):
    """The mapping (or preset) is invalid, or does not fit the export's columns or values."""


class ValueProblemsError(ImportFailedError):
    """Values in the export cannot be read safely (dates, amounts); ``problems`` lists them."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        lines = [f"The export has {len(problems)} problem(s) that would make the numbers wrong; nothing was imported:"]
        lines += [f"- {problem}" for problem in problems]
        super().__init__("\n".join(lines))
