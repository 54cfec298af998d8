"""Errors a user can cause, each with a message that says what to fix.

Every exception the kit raises on purpose derives from :class:`SalesnbError`; the CLI
prints its message (never a traceback) and exits non-zero.
"""

from __future__ import annotations

import re

# C0 and C1 control characters and DEL, except newline and tab: an ESC or OSC sequence in
# a stage name must not clear the user's screen or set the terminal's title.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text) -> str:
    """``text`` safe to print on a terminal: control characters shown escaped (``\\x1b``).

    Messages quote values from the data (stage names, IDs); every message the kit prints
    goes through here.
    """
    return _CONTROL_CHARACTERS.sub(lambda match: repr(match.group())[1:-1], str(text))


class SalesnbError(Exception):
    """Base class: something the user can fix. ``str(error)`` is the whole message."""


class ConfigError(SalesnbError):
    """The playbook config is missing, unreadable or inconsistent."""


class DatasetNotFoundError(SalesnbError):
    """The data folder does not exist or holds no table the kit knows."""


class UnreadableTableError(DatasetNotFoundError):
    """A table's file is there but cannot be used: empty, a folder, a broken link, a CSV
    in another layout. Never treated as "table absent"."""


class OptionError(SalesnbError):
    """A command-line option or a run plan setting has a value the kit cannot use (a time
    limit of ``nan``). The message names the option and the values it takes."""


class CacheError(SalesnbError):
    """The kit's cache folder cannot be used (not a folder, not writable, disk full)."""


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


class ExchangeRateError(SalesnbError):
    """An amount in another currency needs a rate on a date the exchange rates do not cover
    (a view of the pipeline on a date before a currency's first rate)."""


class NeedsDatesError(SalesnbError):
    """An analysis places rows in time, and the data has no dates (a lead-scoring extract, a
    win/loss table). Data without dates loads: what needs no dates runs over all rows, and
    what needs them says so with this message (docs/metrics.md, *Data without dates*)."""

    def __init__(self, what: str = "This analysis"):
        self.what = what
        super().__init__(
            f"{what} needs dates, and the data has none (no deal, lead, activity or order carries a date). "
            "What needs no dates (win rates, loss reasons, scoring, conversion by source or attribute) uses all "
            "rows; add created_at and close_date to the deals, or created_at to the leads, to see the rest."
        )


class DataValidationError(SalesnbError):
    """The dataset has errors that would make the analysis wrong.

    ``findings`` holds every finding (errors and warnings); the message lists the errors.
    """

    def __init__(self, findings):
        self.findings = list(findings)
        errors = [finding for finding in self.findings if finding.severity == "error"]
        lines = [f"The data has {len(errors)} problem{'' if len(errors) == 1 else 's'} that would make the numbers wrong:"]
        lines += [f"- {finding.message}" for finding in errors]
        super().__init__("\n".join(lines))
