"""Demo county: a deterministic generator and its loader."""
