"""Data in: the canonical model, the playbook, periods, loading and caching, validation,
importing CRM exports (``importing``) and the sample generator (``sample``).

Imports nothing from ``salesnb.metrics`` or ``salesnb.report``.
"""
