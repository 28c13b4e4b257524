"""Serial numbers of the registry (pure): how a block of credits is printed."""

from __future__ import annotations


def serial_label(project_code: str, vintage_start: int, vintage_end: int, start: int, end: int) -> str:
    """The printed serial block: CN-GG-<project>-<vintage>-<start>-<end>."""
    return f"CN-GG-{project_code}-{vintage_start}-{vintage_end}-{start:09d}-{end:09d}"
