"""Reporting: the text report, the HTML report, numbers for display, Phase 4 agreement."""
