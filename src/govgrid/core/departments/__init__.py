"""条 lines (kinds of department) and departments (a line in a division)."""
