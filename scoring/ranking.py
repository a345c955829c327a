"""Ranking: shared ranks for equal totals and a documented tie-break, vectorised."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.methods import FloatArray

ROUND_FOR_TIES = 9  # totals equal to 9 decimals share a rank


@dataclass(frozen=True)
class Ranking:
    order: (
        np.ndarray
    )  # positions, best first within each group, groups in order of first appearance
    rank: FloatArray  # shared (competition) rank 1, 1, 3 …; NaN for unscored
    rank_max: FloatArray  # the worst position of the agent's tie group
    group_size: np.ndarray  # scored agents in the agent's group


def rank_totals(
    total: FloatArray, kpi: FloatArray, manager: FloatArray, agents: np.ndarray, groups: np.ndarray
) -> Ranking:
    """Rank within each group. Equal totals (to 9 decimals) share a rank (1, 1, 3).

    Order inside a tie, for display only: higher KPI table score, then higher manager
    component, then agent id (``agents``: the ids, or any array that sorts like them).
    Unscored agents (NaN total) come last, without a rank.
    """
    n = len(total)
    if n == 0:
        empty = np.empty(0)
        return Ranking(np.empty(0, dtype=np.int64), empty, empty, np.empty(0, dtype=np.int64))
    rounded = np.round(total, ROUND_FOR_TIES)
    scored = np.isfinite(rounded)
    single = not len(groups) or not (groups != groups[0]).any()
    key_total = np.where(scored, -rounded, np.inf)
    t = np.sort(key_total)
    ties = t[1:] == t[:-1]
    # Without a tie every key is distinct, so any sort gives the one order (argsort, unstable, is
    # the fastest); only a tie (or several teams) needs the full tie-break sort.
    order = np.argsort(key_total)
    if not single or ties.any():
        group_codes = np.zeros(n, dtype=np.int64) if single else pd.factorize(groups)[0]
        keys: list[np.ndarray] = [agents]
        if np.isfinite(manager).any():
            keys.append(np.where(np.isfinite(manager), -manager, np.inf))
        keys += [np.where(np.isfinite(kpi), -kpi, np.inf), key_total]
        if not single:
            keys.append(group_codes)
        order = np.lexsort(tuple(keys))
        t = key_total[order]
        ties = t[1:] == t[:-1]
        g = group_codes[order]
    else:
        g = np.zeros(n, dtype=np.int64)
    idx = np.arange(n)
    new_group = np.concatenate(([True], g[1:] != g[:-1]))
    new_block = new_group | np.concatenate(([True], ~ties))
    group_start = np.maximum.accumulate(np.where(new_group, idx, 0)) if not single else 0
    block_start = np.maximum.accumulate(np.where(new_block, idx, 0))
    end_block = np.concatenate((new_block[1:], [True]))
    block_end = np.minimum.accumulate(np.where(end_block, idx, n)[::-1])[::-1]
    s_scored = scored[order]
    if single:
        size_sorted = np.full(n, int(s_scored.sum()))
    else:
        size_sorted = np.bincount(g, weights=s_scored.astype(float), minlength=int(g.max()) + 1)[g]
    rank = np.empty(n)
    rank_max = np.empty(n)
    size = np.empty(n, dtype=np.int64)
    rank[order] = np.where(s_scored, block_start - group_start + 1, np.nan)
    rank_max[order] = np.where(s_scored, block_end - group_start + 1, np.nan)
    size[order] = size_sorted
    return Ranking(order, rank, rank_max, size)
