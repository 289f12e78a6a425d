"""Aid grants paid (教育资助): each payment checked against its programme's standard."""
