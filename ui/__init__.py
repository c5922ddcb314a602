"""The Streamlit adapter: cached wrappers over mpq_core, the shared sidebar, state, rendering."""

from .page import View, start_page

__all__ = ["View", "start_page"]
