"""salesnb: a Jupyter-notebook sales playbook and analysis kit.

The package has three layers, and imports flow one way (data <- metrics <- report):

- ``salesnb.data``: the canonical model, the playbook, periods, loading and caching,
  validation, importing CRM exports and the sample generator;
- ``salesnb.metrics``: one module per sales question, every metric an Ibis expression
  executed on the dataset's backend (DuckDB by default) and returned as pandas;
- ``salesnb.report``: what notebooks and the runner use to show and ship results
  (tables, charts, KPI records, the notebook header, the runner).

``salesnb.cli`` is the command line on top of the three.
"""

__version__ = "0.1.0"

from salesnb.data.dataset import Dataset, dataset_from_frames, open_dataset  # noqa: E402
from salesnb.data.playbook import Playbook, load_playbook  # noqa: E402

__all__ = ["Dataset", "Playbook", "dataset_from_frames", "load_playbook", "open_dataset", "__version__"]
