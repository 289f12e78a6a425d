"""Reports (DOMAIN §3.3): 资助全覆盖, the summary of a region and term, and the check of a
reported aid total; computed from records, never stored."""
