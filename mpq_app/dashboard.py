"""The app's entry: every page declared once, from ``ui.page.PAGES`` (file, title, tab icon,
URL path, sidebar order), and the page the URL names run.

    mpq app                     (or: python -m streamlit run mpq_app/dashboard.py)

The Budget explorer is the default page, at the app's root (``/?budget=0.4&solver=exact``).
Streamlit's own page list is hidden: each page draws the sidebar's links (``ui.page``).

The page files live in ``app_pages/``: beside a folder named ``pages/``, Streamlit (1.67) runs
the first script run of a server the old way, finding ``pages/`` itself and running a linked
page without this script, so a link to another page opened first would bring Streamlit's own
page list and a ``/Budget_explorer`` address.
"""

import streamlit as st

from mpq_app.ui.page import PAGES

pages = [
    st.Page(
        route.path,
        title=title,
        icon=route.tab_icon,
        url_path=route.url_path,
        default=route.url_path == "",
    )
    for title, route in PAGES.items()
]
st.navigation(pages, position="hidden").run()
