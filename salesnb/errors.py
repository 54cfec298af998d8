"""Errors a user can cause, each with a message that says what to fix.

Every exception the kit raises on purpose derives from :class:`SalesnbError`; the CLI
prints its message (never a traceback) and exits non-zero.
"""

from __future__ import annotations


class SalesnbError(Exception):
    """Base class: something the user can fix. ``str(error)`` is the whole message."""


class ConfigError(SalesnbError):
    """The playbook config is missing, unreadable or inconsistent."""


class DatasetNotFoundError(SalesnbError):
    """The data folder does not exist or holds no table the kit knows."""


class MissingTableError(SalesnbError):
    """An analysis needs a table the dataset does not have."""

    def __init__(self, table: str, needed_for: str, enables: str = ""):
        self.table = table
        self.needed_for = needed_for
        message = (
            f"The dataset has no '{table}' table, which {needed_for} needs. "
            f"Add {table}.csv or {table}.parquet to the data folder (see docs/data-model.md)."
        )
        if enables:
            message += f" With it the kit can show: {enables}."
        super().__init__(message)


class DataValidationError(SalesnbError):
    """The dataset has errors that would make the analysis wrong.

    ``findings`` holds every finding (errors and warnings); the message lists the errors.
    """

    def __init__(self, findings):
        self.findings = list(findings)
        errors = [finding for finding in self.findings if finding.severity == "error"]
        lines = [f"The data has {len(errors)} problem(s) that would make the numbers wrong:"]
        lines += [f"- {finding.message}" for finding in errors]
        super().__init__("\n".join(lines))
