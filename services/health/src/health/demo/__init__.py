"""The demo county's health data (``python -m health.demo``)."""
