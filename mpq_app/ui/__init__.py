"""The Streamlit adapter: cached wrappers over mpq_core, the shared sidebar, state, rendering."""

from .page import View, app_page, start_page

__all__ = ["View", "app_page", "start_page"]
