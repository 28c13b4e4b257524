"""The carbon pool table (Mg C/ha per land-cover code), as InVEST reads it: lucode, c_above, c_below, c_soil,
c_dead; every bad row or column is a problem keyed by the input it came from."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .spec import Problem

POOLS = ("c_above", "c_below", "c_soil", "c_dead")


@dataclass
class PoolTable:
    """Carbon pools per land-cover code (Mg C/ha)."""

    pools: dict[int, dict[str, float]]

    def totals32(self) -> dict[int, np.float32]:
        """Per-class storage summed in float32 in InVEST's pool order."""
        out = {}
        for code, row in self.pools.items():
            acc = np.float32(0.0)
            for pool in POOLS:
                acc = np.float32(acc + np.float32(row[pool]))
            out[code] = acc
        return out


def read_pool_table(path: Path, key: str, problems: list[Problem]) -> PoolTable | None:
    """Parse and check the carbon-pool CSV; every bad row or column becomes a problem."""
    if not path.exists():
        problems.append(Problem(key, f"file not found: {path}"))
        return None
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
        missing = [c for c in ("lucode", *POOLS) if c not in header]
        if missing:
            problems.append(Problem(key, f"missing columns: {', '.join(missing)}"))
            return None
        pools: dict[int, dict[str, float]] = {}
        n_before = len(problems)
        for i, raw in enumerate(reader, start=2):
            row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
            try:
                code_f = float(row["lucode"])
            except ValueError:
                problems.append(Problem(key, f"line {i}: lucode {row['lucode']!r} is not a number"))
                continue
            if not code_f.is_integer():
                problems.append(Problem(key, f"line {i}: lucode {row['lucode']} is not an integer"))
                continue
            code = int(code_f)
            if code in pools:
                problems.append(Problem(key, f"line {i}: duplicate lucode {code}"))
            values = {}
            for pool in POOLS:
                text = row.get(pool, "")
                try:
                    v = float(text)
                except ValueError:
                    problems.append(
                        Problem(
                            key, f"line {i}: {pool} is empty or not a number ({text!r}) for lucode {code}"
                        )
                    )
                    continue
                if not math.isfinite(v):
                    problems.append(Problem(key, f"line {i}: {pool} is nodata ({text}) for lucode {code}"))
                elif v < 0:
                    problems.append(
                        Problem(key, f"line {i}: {pool} = {v} is out of range (must be >= 0 Mg C/ha)")
                    )
                values[pool] = v
            pools[code] = values
        if not pools:
            problems.append(Problem(key, "table has no rows"))
        if len(problems) > n_before:
            return None
    return PoolTable(pools)
