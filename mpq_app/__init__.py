"""The dashboard: ``dashboard.py`` declares the pages (``app_pages/``), ``ui/`` draws them over
the engine (``mpq_core``), ``launch`` serves it (``mpq app``). Its Streamlit settings are in
``.streamlit/config.toml`` beside ``dashboard.py`` (Streamlit reads them from there whatever
the working directory)."""

from pathlib import Path

DASHBOARD = Path(__file__).with_name("dashboard.py")
# the pair of files ``mpq app FLOPS SENSITIVITY`` opens: a JSON list of their absolute paths
FILES_ENV = "MPQ_APP_FILES"
