"""The file formats a report can be written in (one list for the CLI, the app and the writer)."""

IMAGE_FORMATS = ("png", "svg", "pdf")
REPORT_FORMATS = ("html", *IMAGE_FORMATS)
DEFAULT_FORMATS = ("html", "png", "svg")
