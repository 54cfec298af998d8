"""Helpers for tests/robustness: run ``salesnb`` as a user would and check that it failed cleanly.

Every robustness case asserts the same four things: the exit code, that the message names
the table, column or option and says what to do, that no Python traceback was printed, and
that no input file changed (a hash of every file before and after).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import traceback
from dataclasses import dataclass
from pathlib import Path

# A small, valid dataset in the default playbook's stages. Dates are ordered (created ->
# MQL -> SQL -> converted, created -> first response), quotas are back to back.
OPPORTUNITIES = """opportunity_id,rep_id,lead_id,source,created_at,close_date,stage,amount,lost_reason
O1,R1,L1,Webinar,2025-01-06,2025-02-10,Closed Won,1200,
O2,R1,,Outbound,2025-01-08,2025-03-01,Closed Lost,800,Price
O3,R2,L2,Webinar,2025-02-03,2025-04-15,Closed Won,2500,
O4,R2,,Referral,2025-03-10,2025-06-30,Proposal,4000,
O5,R1,,Outbound,2025-03-12,2025-05-20,Closed Lost,600,No budget
"""
LEADS = """lead_id,created_at,source,rep_id,status,first_response_at,mql_at,sql_at,converted_at,opportunity_id
L1,2025-01-02 09:00:00,Webinar,R1,Converted,2025-01-02 10:30:00,2025-01-03 09:00:00,2025-01-04 09:00:00,2025-01-06 09:00:00,O1
L2,2025-01-20 14:00:00,Webinar,R2,Converted,2025-01-20 15:00:00,2025-01-22 09:00:00,2025-01-30 09:00:00,2025-02-03 09:00:00,O3
L3,2025-02-11 08:00:00,Outbound,R1,Working,2025-02-11 12:00:00,,,,
L4,2025-03-01 16:00:00,Website,R2,New,,,,,
"""
REPS = """rep_id,rep_name,team
R1,Ann Lee,East
R2,Bob Roy,West
"""
QUOTAS = """rep_id,period_start,period_end,amount
R1,2025-01-01,2025-03-31,5000
R1,2025-04-01,2025-06-30,5000
R2,2025-01-01,2025-03-31,6000
R2,2025-04-01,2025-06-30,6000
"""
TABLES = {"opportunities": OPPORTUNITIES, "leads": LEADS, "reps": REPS, "quotas": QUOTAS}


def write_dataset(folder: Path, **tables: str | bytes | None) -> Path:
    """The clean dataset in ``folder``, with a table's text replaced (or left out with None)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in {**TABLES, **tables}.items():
        if content is None:
            continue
        path = folder / f"{name}.csv"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder


def replace_cell(text: str, row_id: str, column: str, value: str) -> str:
    """``text`` (a CSV) with one cell changed: the first row whose first field is ``row_id``."""
    lines = text.splitlines()
    header = lines[0].split(",")
    for index, line in enumerate(lines):
        fields = line.split(",")
        if fields[0] == row_id:
            fields[header.index(column)] = value
            lines[index] = ",".join(fields)
            break
    return "\n".join(lines) + "\n"


def fingerprint(*roots: Path) -> dict[str, str]:
    """A hash of every file under ``roots`` (links not followed: a broken link is a file too)."""
    hashes = {}
    for root in roots:
        paths = [root] if not root.is_dir() or root.is_symlink() else sorted(root.rglob("*"))
        for path in paths:
            if path.is_symlink():
                hashes[str(path)] = "link:" + os.readlink(path)
            elif path.is_file():
                hashes[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
            elif path.is_dir():
                hashes[str(path)] = "folder"
    return hashes


@dataclass
class Outcome:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def salesnb(*args: str) -> Outcome:
    """``salesnb ARGS`` in this process, as the console script runs it (``salesnb.cli.main``).

    An exception escaping ``main`` is what a user sees as a traceback: it is returned as
    output containing "Traceback" (and exit code 1), so the case fails with it in view.
    """
    from salesnb import cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main([str(arg) for arg in args])
        except SystemExit as exit_:  # pragma: no cover - main returns codes, never exits
            code = exit_.code if isinstance(exit_.code, int) else 1
        except BaseException:  # noqa: BLE001 - the point is to see it
            err.write(traceback.format_exc())
            code = 1
    return Outcome(code, out.getvalue(), err.getvalue())


@contextlib.contextmanager
def untouched(*roots: Path):
    """Assert that no file under ``roots`` changed (or appeared, or vanished) in the block."""
    before = fingerprint(*roots)
    yield
    assert fingerprint(*roots) == before, "an input file was changed"


def assert_refused(outcome: Outcome, code: int, *words: str) -> None:
    """Exit ``code``, every one of ``words`` in the message, and no traceback."""
    assert "Traceback" not in outcome.text, outcome.text
    assert outcome.code == code, (outcome.code, outcome.text)
    for word in words:
        assert word in outcome.text, (word, outcome.text)


def validate(folder: Path, *extra: str) -> Outcome:
    """``salesnb validate --data folder``, checking that nothing in the folder changed."""
    with untouched(folder):
        return salesnb("validate", "--data", folder, *extra)
