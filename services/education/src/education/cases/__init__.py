"""劝返 cases (控辍保学): bringing a student who left school back, with visits and an outcome."""
