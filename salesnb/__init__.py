"""salesnb: a Jupyter-notebook sales playbook and analysis kit.

Notebooks call this package; every metric lives here as an Ibis expression executed on
DuckDB and handed back as a pandas DataFrame.
"""

__version__ = "0.1.0"

from salesnb.dataset import Dataset, dataset_from_frames, open_dataset  # noqa: E402
from salesnb.playbook import Playbook, load_playbook  # noqa: E402

__all__ = ["Dataset", "Playbook", "dataset_from_frames", "load_playbook", "open_dataset", "__version__"]

from salesnb import notebook  # noqa: E402  (notebooks call salesnb.notebook.start)
