"""Students (学籍): registry persons matched to their school records."""
