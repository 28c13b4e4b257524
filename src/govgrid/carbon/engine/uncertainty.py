"""Monte Carlo uncertainty (蒙特卡洛不确定性), IPCC 2006 Vol. 1 ch. 3 Approach 2.

Each uncertain input is a named distribution; the model function is evaluated on arrays of draws
(vectorised, one call), and the 5th-95th percentiles give the 90% interval. A seed makes it reproducible.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from pydantic import Field

from .spec import ArgsModel


class Normal(ArgsModel):
    """Normal distribution, optionally truncated below (e.g. at 0 for densities) by clipping."""

    mean: float
    sd: float = Field(ge=0)
    lower: float | None = None

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` draws."""
        x = rng.normal(self.mean, self.sd, n)
        return x if self.lower is None else np.maximum(x, self.lower)


@dataclass
class MonteCarloResult:
    """Summary of the simulated output."""

    deterministic: float
    mean: float
    p05: float
    p95: float
    n: int
    seed: int

    @property
    def half_width_rel(self) -> float:
        """90% CI half-width relative to the mean (the 'error' of VM0033 and CCER)."""
        return abs(self.p95 - self.p05) / 2.0 / abs(self.mean) if self.mean else float("inf")


def monte_carlo(
    fn: Callable[..., np.ndarray], params: dict[str, Normal], *, n: int = 5000, seed: int = 42
) -> MonteCarloResult:
    """Evaluate ``fn(**draws)`` on ``n`` draws of every parameter; the deterministic run uses the means."""
    rng = np.random.default_rng(seed)
    draws = {k: d.draw(rng, n) for k, d in sorted(params.items())}
    out = np.asarray(fn(**draws), float)
    det = float(np.asarray(fn(**{k: np.array([d.mean]) for k, d in params.items()}), float).ravel()[0])
    return MonteCarloResult(
        det, float(out.mean()), float(np.percentile(out, 5)), float(np.percentile(out, 95)), n, seed
    )
