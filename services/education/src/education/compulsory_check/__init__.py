"""The compulsory-education check (义务教育 排查): compulsory-age members out of school."""
