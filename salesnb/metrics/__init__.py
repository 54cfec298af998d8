"""Metrics: one module per sales question, each an Ibis expression over a
:class:`salesnb.data.dataset.Dataset`, executed where the data lives and returned as pandas.

Uses ``salesnb.data``; imports nothing from ``salesnb.report``. Every docstring gives its
formula; ``docs/metrics.md`` collects them.
"""
