"""Argument checks shared by the theory modules."""

from __future__ import annotations

import numpy as np

PROBABILITY_TOLERANCE = 1e-6


def probability_vector(d, name: str = "d") -> np.ndarray:
    d = np.asarray(d, dtype=np.float64)
    if d.ndim != 1 or d.size < 1:
        raise ValueError(f"{name} must be a 1-D probability vector; got shape {d.shape}")
    if not np.all(np.isfinite(d)) or np.any(d < 0):
        raise ValueError(f"{name} has a negative or non-finite entry")
    if abs(d.sum() - 1.0) > PROBABILITY_TOLERANCE:
        raise ValueError(f"{name} must sum to 1; it sums to {d.sum():.6g}")
    return d


def check_eps(eps: float) -> float:
    if not np.isfinite(eps) or eps <= 0:
        raise ValueError(f"eps must be a positive number; got {eps}")
    return float(eps)


def check_sample_sizes(n, name: str = "n") -> np.ndarray:
    n_arr = np.asarray(n, dtype=np.float64)
    if n_arr.size == 0 or not np.all(np.isfinite(n_arr)) or np.any(n_arr < 1) or np.any(n_arr != np.round(n_arr)):
        raise ValueError(f"{name} must be a positive integer (or an array of them); got {n}")
    return n_arr
