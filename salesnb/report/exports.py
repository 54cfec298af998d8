"""Files a report writes beside its page, into the job's folder (the notebook's ``output_dir``).

A run passes each notebook that declares ``output_dir`` its folder (the run folder, or a pack's
folder: ``salesnb.report.configuration``); run interactively the parameter is None and nothing
is written. A CSV holds text from the CRM (IDs, names, reasons): a cell a spreadsheet would run
as a formula (``=HYPERLINK(...)``, ``@SUM``, ``+cmd``) is written with a leading ``'``, as the
import writes its tables; plain numbers (``-0.25``) are written as they are.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from salesnb.data.importing import FORMULA_STARTS
from salesnb.report.runs import RunWriteError

PLAIN_NUMBER = r"[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?"


def neutralised(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text cell a spreadsheet would run as a formula prefixed with ``'``."""
    changed = {}
    for column in frame.columns:
        values = frame[column]
        if not (values.dtype == object or pd.api.types.is_string_dtype(values)):
            continue
        text = values.astype("string")
        risky = (text.str.startswith(FORMULA_STARTS) & ~text.str.fullmatch(PLAIN_NUMBER)).fillna(False)
        if risky.any():
            changed[column] = values.astype(object).where(~risky.to_numpy(), "'" + text.astype(object))
    return frame.assign(**changed) if changed else frame


def write_csv(frame: pd.DataFrame, output_dir, name: str) -> Path:
    """``frame`` as ``<output_dir>/<name>`` (UTF-8, comma-separated, ``\\n`` line ends, no index),
    formula-like text neutralised; written to a temporary file and renamed, so the file is the
    whole table or absent. A full or read-only disk is the run's :class:`RunWriteError`."""
    path = Path(output_dir) / name
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(temporary, "w", encoding="utf-8", newline="") as handle:
            neutralised(frame).to_csv(handle, index=False, lineterminator="\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise RunWriteError(path, error) from None
    return path
