"""salesnb: a Jupyter-notebook sales playbook and analysis kit.

A first number in three lines::

    import salesnb
    ds = salesnb.open("data/sample")
    salesnb.metrics.conversion.win_rates(ds, "2025Q3", by="product", where=salesnb.select(team="Enterprise"))

The package has three layers, and imports flow one way (data <- metrics <- report):

- ``salesnb.data``: the canonical model, the playbook, periods, selections, loading and
  caching, validation, importing CRM exports and the sample generator;
- ``salesnb.metrics``: one module per sales question, every metric an Ibis expression
  executed on the dataset's backend (DuckDB by default) and returned as pandas; every
  public metric takes ``period`` and ``where=`` the same way (``salesnb.metrics.scope``);
- ``salesnb.report``: what notebooks and the runner use to show and ship results
  (tables, charts, KPI records, the notebook header, the runner).

``salesnb.cli`` is the command line on top of the three. ``import salesnb`` stays light:
the metrics and report layers are imported when first used.
"""

__version__ = "0.1.0"

import importlib  # noqa: E402

from salesnb.data.dataset import Dataset, dataset_from_frames, open_dataset  # noqa: E402
from salesnb.data.periods import Period  # noqa: E402
from salesnb.data.playbook import Playbook, load_playbook  # noqa: E402
from salesnb.data.selection import Selection, select  # noqa: E402


def open(source=None, config=None, *, preset: str | None = None, mapping=None, backend=None,  # noqa: A001
         strict: bool = True) -> Dataset:
    """Open a dataset for analysis: a folder of tables, a CRM export with a ``preset`` or a
    ``mapping``, or a backend URL (``"pyspark"``, ``"duckdb:///crm.duckdb"``).

    Parameters
    ----------
    source : a data folder (``"data/sample"``), an export file or folder (with ``preset`` or
        ``mapping``), or a backend URL (a string with ``://``, or ``"pyspark"``).
    config : the playbook YAML (stages, probabilities, fiscal year, currency); None uses the
        one beside the data, else the default.
    preset, mapping : read ``source`` as a CRM export (``salesforce``, ``hubspot``,
        ``pipedrive``) or with a mapping file (docs/importing.md), through the import cache.
    backend : the tables where they live, instead of ``source``.
    strict : refuse data with errors (default); False opens it with its findings.

    In JupyterLab, metric results then show as labelled, formatted tables (units and labels
    from the catalogue of metrics, every cell escaped).
    """
    if backend is None and isinstance(source, str) and (source.strip() == "pyspark" or "://" in source):
        source, backend = None, source
    if preset or mapping:
        from salesnb.data.importing import import_to_cache

        source = import_to_cache(source, mapping=mapping, preset=preset)
    dataset = open_dataset(source, config, strict=strict, backend=backend)
    _show_results_formatted()
    return dataset


def _show_results_formatted() -> None:
    """In IPython, show metric results through the kit's one escaping table helper."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        from salesnb.report import display

        display.register_result_formatter(shell)


def __getattr__(name: str):
    """``salesnb.metrics`` and ``salesnb.report`` on first use (``import salesnb`` stays light)."""
    if name in ("metrics", "report"):
        return importlib.import_module(f"salesnb.{name}")
    raise AttributeError(f"module 'salesnb' has no attribute {name!r}")


__all__ = ["Dataset", "Period", "Playbook", "Selection", "dataset_from_frames", "load_playbook", "open",
           "open_dataset", "select", "__version__"]
