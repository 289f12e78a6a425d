"""The demo county's school year (``python -m education.demo``)."""
