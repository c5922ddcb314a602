"""The ``mpq`` command: the engine's command line (``mpq --optimize_mixed_precision ...``, as
``main.py``) and the dashboard (``mpq app``), also run as ``python -m mpq``."""
