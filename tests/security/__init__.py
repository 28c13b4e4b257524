"""One test per security finding (issues 11 and 12), each with the payload that worked before the fix."""
