"""govgrid: digital government across lines (条) and territories (块)."""

__version__ = "0.1.0"
