"""Data: what was loaded, what was dropped, the synthetic label, hashes and accepted formats."""

import streamlit as st

from mpq_app.ui import app_page
from mpq_app.ui.data_info import FORMATS_HELP, data_overview, synthetic_details

with app_page("Data") as view:
    st.title("Data")
    data_overview(view.data.inputs, view.problem)
    synthetic_details(view.data.inputs)
    st.subheader("Accepted formats")
    st.markdown(FORMATS_HELP)
