"""Education (教育扶贫): the system of 教育局."""
