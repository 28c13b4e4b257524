"""The one policy module: who may see and do what, applied inside queries."""
