"""防返贫监测: risk alerts raised by other departments 's events or by hand."""
