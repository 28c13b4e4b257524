"""Pure series arithmetic: growth rates, seasonal adjustment (STL), the vectorised anomaly scan, cross-checks
between series that should move together, and a short-horizon nowcast. No database, no web.

The anomaly scan (异常值扫描) is vectorised over many series at once (a matrix, one row per series, one column
per month) so a whole province can be scanned in one pass; STL is used per series for seasonal adjustment on
the indicator page, where one series is shown. The scan's expected value for month t uses only months
before t:

- g: the typical change over twelve months, the median of the last ``window`` seasonal differences
  (x[s] - x[s-12]) before t;
- expected: the median of x[t-12k] + k*g for k = 1, 2, 3 (the same month of the last three years carried
  forward by the typical change; the median keeps one past outlier from echoing a year later);
- scale: 1.4826 * MAD of those seasonal differences around g (a robust standard deviation), floored at
  0.5% of the expected value;
- a series whose values are all positive is scanned in logarithms (its growth, not its absolute change, is
  what repeats), and the band is turned back into the series' own unit;
- the expected band is expected +- z * scale; outside it the month is flagged, with its score
  (x - expected) / scale (the modified z-score of Iglewicz and Hoaglin, threshold 3.5).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]
SEASON = 12
YEARS_BACK = 3
WINDOW = 24
Z_THRESHOLD = 3.5
MAD_TO_SD = 1.4826
MIN_REL_SCALE = 0.005
# The band's scale comes from 24 past differences and the expected value from three noisy years: on clean
# simulated series the score's tails are heavier than a normal's, and this factor brings the share of clean
# months flagged at z = 3.5 down to about 0.2% (measured in tests/economy/test_analysis.py).
SMALL_SAMPLE = 1.15
BLOCK_ROWS = 512


def first_scannable(window: int = WINDOW) -> int:
    """The first month index the scan can judge (it needs three years of history)."""
    return max(SEASON * YEARS_BACK, window + SEASON)


def yoy(values: Array) -> Array:
    """Year-on-year growth in percent (同比增速) of a monthly series (NaN without a positive base)."""
    out = np.full(values.shape, np.nan)
    base = values[..., :-SEASON]
    with np.errstate(divide="ignore", invalid="ignore"):
        out[..., SEASON:] = np.where(base > 0, (values[..., SEASON:] / base - 1.0) * 100.0, np.nan)
    return out


def ytd_growth(periods: list[str], values: Array) -> Array:
    """Cumulative growth in percent (累计增速): January..this month against the same months a year before."""
    out = np.full(len(values), np.nan)
    index = {p: i for i, p in enumerate(periods)}
    for i, p in enumerate(periods):
        year, month = int(p[:4]), int(p[5:7])
        this = [index.get(f"{year}-{m:02d}") for m in range(1, month + 1)]
        last = [index.get(f"{year - 1}-{m:02d}") for m in range(1, month + 1)]
        if any(j is None for j in this + last):
            continue
        a = float(np.sum(values[[j for j in this if j is not None]]))
        b = float(np.sum(values[[j for j in last if j is not None]]))
        if b > 0 and np.isfinite(a):
            out[i] = (a / b - 1.0) * 100.0
    return out


@dataclass
class ScanResult:
    """Per series and month: expected value, band, score and flag (NaN/False where not judged)."""

    expected: Array
    low: Array
    high: Array
    score: Array
    flagged: npt.NDArray[np.bool_]


def _median(a: Array, axis: int) -> Array:
    """Median along an axis: a sort of a contiguous copy (several times faster than np.median on a strided
    view); NaN-aware (slower) only when there is a NaN."""
    if np.isnan(a).any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.asarray(np.nanmedian(a, axis=axis), dtype=np.float64)
    s = np.sort(np.ascontiguousarray(a), axis=axis)
    n = s.shape[axis]
    upper = np.take(s, n // 2, axis=axis)
    if n % 2:
        return np.asarray(upper, dtype=np.float64)
    return np.asarray((np.take(s, n // 2 - 1, axis=axis) + upper) / 2.0, dtype=np.float64)


def scan(matrix: Array, *, z: float = Z_THRESHOLD, window: int = WINDOW) -> ScanResult:
    """Vectorised anomaly scan of many monthly series (rows) at once; see the module docstring.

    Rows are scanned in blocks of ``BLOCK_ROWS`` so the sliding windows stay in the CPU cache (a 10,000-row
    matrix as one block moves 160 MB per sort)."""
    x = np.asarray(matrix, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    n, t = x.shape
    out = ScanResult(
        np.full((n, t), np.nan),
        np.full((n, t), np.nan),
        np.full((n, t), np.nan),
        np.full((n, t), np.nan),
        np.zeros((n, t), dtype=bool),
    )
    if t <= first_scannable(window):
        return out
    for lo in range(0, n, BLOCK_ROWS):
        _scan_block(x[lo : lo + BLOCK_ROWS], out, lo, z, window)
    return out


def _scan_block(x: Array, out: ScanResult, row0: int, z: float, window: int) -> None:
    """Scan one block of rows into ``out`` (rows ``row0`` onwards)."""
    n, t = x.shape
    rows = slice(row0, row0 + n)
    start = first_scannable(window)
    # multiplicative series (all positive) are scanned in logs: growth, not absolute change, is what repeats
    positive = np.all((x > 0) | np.isnan(x), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.where(positive[:, None], np.log(np.where(x > 0, x, np.nan)), x)
    d = np.full((n, t), np.nan)
    d[:, SEASON:] = x[:, SEASON:] - x[:, :-SEASON]
    # windows[:, j] = d[:, j : j + window]; month t uses the window ending at t - 1, i.e. j = t - window
    windows = np.lib.stride_tricks.sliding_window_view(d, window, axis=1)[:, start - window : t - window]
    g = _median(windows, axis=2)
    spread = SMALL_SAMPLE * MAD_TO_SD * _median(np.abs(windows - g[:, :, None]), axis=2)
    months = np.arange(start, t)
    candidates = np.stack([x[:, months - SEASON * k] + k * g for k in range(1, YEARS_BACK + 1)], axis=2)
    exp = _median(candidates, axis=2)
    floor = np.where(positive[:, None], MIN_REL_SCALE, MIN_REL_SCALE * np.abs(exp))
    scale = np.maximum(spread, floor)
    scale = np.where(scale > 0, scale, np.nan)
    back = positive[:, None]
    out.expected[rows, start:] = np.where(back, np.exp(exp), exp)
    out.low[rows, start:] = np.where(back, np.exp(exp - z * scale), exp - z * scale)
    out.high[rows, start:] = np.where(back, np.exp(exp + z * scale), exp + z * scale)
    with np.errstate(invalid="ignore"):
        score = (x[:, start:] - exp) / scale
    out.score[rows, start:] = score
    out.flagged[rows, start:] = np.nan_to_num(np.abs(score) > z, nan=False).astype(bool)


@dataclass
class CrossResult:
    """Per month: both YoY growth rates, the gap, its usual range and whether they diverge."""

    growth: Array  # YoY % of the checked series
    partner_growth: Array
    gap: Array  # percentage points
    low: Array  # band of the checked series' YoY implied by the partner and the usual gap
    high: Array
    score: Array
    flagged: npt.NDArray[np.bool_]


def crosscheck(
    values: Array, partner: Array, *, min_gap_pp: float, z: float = Z_THRESHOLD, window: int = WINDOW
) -> CrossResult:
    """Compare YoY growth of two series month by month against their usual gap (robust, trailing window)."""
    ga, gb = yoy(values), yoy(partner)
    gap = ga - gb
    t = len(gap)
    low, high, score = np.full(t, np.nan), np.full(t, np.nan), np.full(t, np.nan)
    flagged = np.zeros(t, dtype=bool)
    start = SEASON + window  # a full window of past gaps
    if t > start:
        windows = np.lib.stride_tricks.sliding_window_view(gap, window)[SEASON : t - window]
        centre = _median(windows, axis=1)
        spread = np.maximum(MAD_TO_SD * _median(np.abs(windows - centre[:, None]), axis=1), 0.5)
        half = np.maximum(z * spread, min_gap_pp)
        now = gap[start:]
        low[start:], high[start:] = gb[start:] + centre - half, gb[start:] + centre + half
        with np.errstate(invalid="ignore"):
            score[start:] = (now - centre) / spread
            flagged[start:] = np.nan_to_num(np.abs(now - centre) > half, nan=False)
    return CrossResult(ga, gb, gap, low, high, score, flagged)


@dataclass
class Adjusted:
    """STL decomposition of one series: seasonally adjusted values, seasonal and trend components."""

    adjusted: Array
    seasonal: Array
    trend: Array


def seasonal_adjust(values: Array) -> Adjusted | None:
    """Robust STL (period 12) of a monthly series; None with under two full years or gaps over two months."""
    from statsmodels.tsa.seasonal import STL

    v = np.asarray(values, dtype=np.float64)
    if len(v) < 2 * SEASON + 1:
        return None
    filled = _fill_gaps(v)
    if filled is None:
        return None
    res = STL(filled, period=SEASON, robust=True).fit()
    seasonal = np.asarray(res.seasonal, dtype=np.float64)
    return Adjusted(filled - seasonal, seasonal, np.asarray(res.trend, dtype=np.float64))


def _fill_gaps(v: Array, longest: int = 2) -> Array | None:
    """Linear interpolation over short gaps; None if a gap is longer or the ends are missing."""
    missing = np.isnan(v)
    if not missing.any():
        return v
    if missing[0] or missing[-1]:
        return None
    run = 0
    for m in missing:
        run = run + 1 if m else 0
        if run > longest:
            return None
    idx = np.arange(len(v))
    return np.interp(idx, idx[~missing], v[~missing])


@dataclass
class Nowcast:
    """Forecast of the next months with an interval."""

    mean: Array
    low: Array
    high: Array
    level: float  # e.g. 0.8 for an 80% interval


def nowcast(values: Array, *, horizon: int = 3, level: float = 0.8) -> Nowcast | None:
    """Short-horizon nowcast: STL removes the season, ARIMA(1,1,0) with drift projects the rest, with an
    interval."""
    from statsmodels.tsa.arima.model import ARIMA
    from statsmodels.tsa.forecasting.stl import STLForecast

    v = np.asarray(values, dtype=np.float64)
    if len(v) < 3 * SEASON:
        return None
    filled = _fill_gaps(v)
    if filled is None:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = STLForecast(
            filled, ARIMA, model_kwargs={"order": (1, 1, 0), "trend": "t"}, period=SEASON, robust=True
        )
        fitted = model.fit()
        frame = fitted.get_prediction(start=len(filled), end=len(filled) + horizon - 1).summary_frame(
            alpha=1 - level
        )
    return Nowcast(
        np.asarray(frame["mean"], dtype=np.float64),
        np.asarray(frame["mean_ci_lower"], dtype=np.float64),
        np.asarray(frame["mean_ci_upper"], dtype=np.float64),
        level,
    )


def month_range(first: str, last: str) -> list[str]:
    """Every 'YYYY-MM' from ``first`` to ``last`` inclusive."""
    y, m = int(first[:4]), int(first[5:7])
    ly, lm = int(last[:4]), int(last[5:7])
    out = []
    while (y, m) <= (ly, lm):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def next_months(last: str, n: int) -> list[str]:
    """The ``n`` months after ``last``."""
    y, m = int(last[:4]), int(last[5:7])
    out = []
    for _ in range(n):
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        out.append(f"{y:04d}-{m:02d}")
    return out
