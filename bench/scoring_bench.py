"""Benchmark: score_team on 10,000 agents × 20 indicators against a plain NumPy reference.

The reference computes the same thing with nothing but NumPy arrays — the same methods
(tiered, ratio, either-or, deduction), the same weighted 0–100 sum, the same ranking with
shared ranks and tie-break — so the comparison shows what the scoring module's pandas
inputs, missing-data rules and result objects cost on top of the bare arithmetic. The run
checks that both agree (totals and ranks), prints the figures, and ends with one JSON line:
``{"seconds": …, "ratio_numpy": …, …}`` (goal: ratio_numpy ≤ 2).

The whole path (issue 20): from the inputs to the rows kpibot stores and a person is shown
(``storage.results.row_values``: one ``result`` row per agent with total, rank, flags and the
breakdown as JSON text), against the reference doing the same arithmetic plus building plain
rows of the same content (per agent: total, rank, KPI score, each indicator's value and
points, each component's points and weight, as JSON text): ``ratio_rows`` (goal ≤ 3).

Both sides are timed alternately in one process: wall time (best of the runs, the goals) and
CPU time (``process_time``, ``cpu_ratio_*``: what other processes on a loaded machine do not
add), and the time the cyclic garbage collector took in the fastest run of the rows
(``rows_gc_seconds``). As ``kpibot run`` does once it has started (``bot/serving.py``), the
imports and the set-up are frozen out of the collector's sight before anything is timed
(``--no-freeze``: not).

    .venv/bin/python bench/scoring_bench.py [--agents 10000] [--repeat 25] [--no-freeze]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from scoring.scheme import Scheme
from scoring.scheme_parser import parse_scheme
from scoring.total import ScoreInputs, TeamResult, score_team
from storage.results import row_values

SEED = 20261103
PRECISION = 1  # the scheme's default: totals shown with one decimal
N_INDICATORS = 20
KPI_WEIGHT, SELF_WEIGHT = 70, 30
# (method, points, better, params) cycled over the 20 indicators; points add up to 100.
KINDS: list[tuple[str, float, str, dict[str, Any]]] = [
    ("tiered", 5, "higher", {"edges": [0.3, 0.5, 0.7], "points": [0, 2, 4, 5]}),
    ("ratio", 5, "higher", {"target": 0.8}),
    ("either_or", 5, "higher", {"target": 0.5}),
    ("deduction", 5, "lower", {"per_event": 1.5}),
    ("ratio", 5, "lower", {"target": 0.2}),
]


def scheme_text() -> str:
    parts = [
        'id = "bench"',
        'name = { zh = "基准", en = "Bench" }',
        f'[[components]]\nkind = "kpi"\nweight = {KPI_WEIGHT}',
        f'[[components]]\nkind = "self"\nweight = {SELF_WEIGHT}\n'
        'dimensions = [ { id = "task", weight = 100, name = { zh = "任务", en = "Task" } } ]',
    ]
    for j in range(N_INDICATORS):
        method, points, better, params = KINDS[j % len(KINDS)]
        unit = "count" if method == "deduction" else "fraction"
        head = (
            f'[[indicators]]\nid = "i{j:02d}"\nname = {{ zh = "指标{j}", en = "Indicator {j}" }}\n'
            f'unit = "{unit}"\nbetter = "{better}"\npoints = {points}\nmethod = "{method}"'
        )
        if method == "tiered":
            e, p = params["edges"], params["points"]
            bands = [f"{{ lt = {e[0]}, points = {p[0]} }}"]
            bands += [
                f"{{ ge = {e[k]}, lt = {e[k + 1]}, points = {p[k + 1]} }}"
                for k in range(len(e) - 1)
            ]
            bands.append(f"{{ ge = {e[-1]}, points = {p[-1]} }}")
            head += "\nparams.bands = [ " + ", ".join(bands) + " ]"
        else:
            head += "\n" + "\n".join(f"params.{k} = {v}" for k, v in params.items())
        parts.append(head)
    return "\n\n".join(parts) + "\n"


def make_data(n: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(SEED)
    values = rng.random((n, N_INDICATORS))
    for j in range(N_INDICATORS):
        if KINDS[j % len(KINDS)][0] == "deduction":
            values[:, j] = rng.integers(0, 5, n)
    reviews = rng.integers(1, 6, n).astype(float)
    agents = [f"agent{i:05d}" for i in range(n)]
    return agents, values, reviews


def numpy_reference(
    values: np.ndarray, reviews: np.ndarray, agents: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The same scheme in bare NumPy: points per indicator, weighted sum, shared ranks."""
    total, rank, _points, _kpi, _self, _order = numpy_arrays(values, reviews, agents)
    return total, rank


def numpy_arrays(
    values: np.ndarray, reviews: np.ndarray, agents: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`numpy_reference` with its intermediate arrays: points, KPI, self score, order."""
    points = np.empty_like(values)
    for j in range(N_INDICATORS):
        method, full, better, params = KINDS[j % len(KINDS)]
        v = values[:, j]
        if method == "tiered":
            points[:, j] = np.asarray(params["points"], dtype=np.float64)[
                np.searchsorted(params["edges"], v, side="right")
            ]
        elif method == "ratio":
            ratio = (
                v / params["target"]
                if better == "higher"
                else np.divide(params["target"], v, out=np.full_like(v, np.inf), where=v > 0)
            )
            points[:, j] = full * np.minimum(ratio, 1.0)
        elif method == "either_or":
            points[:, j] = np.where(v >= params["target"], full, 0.0)
        else:
            points[:, j] = np.maximum(full - params["per_event"] * v, 0.0)
    kpi = points.sum(axis=1)
    self_score = (reviews - 1.0) / 4.0 * 100.0
    exact = (KPI_WEIGHT * kpi + SELF_WEIGHT * self_score) / 100.0
    scale = 10.0**PRECISION  # rounded once, half up, to the scheme's precision (as kpibot shows it)
    total = np.floor(np.round(exact * scale, 6) + 0.5) / scale
    rounded = total
    order = np.lexsort((agents, -kpi, -rounded))
    sorted_total = rounded[order]
    new_block = np.r_[True, sorted_total[1:] != sorted_total[:-1]]
    block_start = np.maximum.accumulate(np.where(new_block, np.arange(len(total)), 0))
    rank = np.empty(len(total))
    rank[order] = block_start + 1
    return total, rank, points, kpi, self_score, order


def reference_rows(
    values: np.ndarray, reviews: np.ndarray, agents: np.ndarray
) -> list[dict[str, Any]]:
    """The reference's arithmetic plus plain rows of the same content as kpibot's stored rows."""
    total, rank, points, kpi, self_score, order = numpy_arrays(values, reviews, agents)
    ids = [f"i{j:02d}" for j in range(N_INDICATORS)]
    full = [KINDS[j % len(KINDS)][1] for j in range(N_INDICATORS)]
    vals, pts = values.tolist(), points.tolist()
    tot, rk, kp, sf = total.tolist(), rank.tolist(), kpi.tolist(), self_score.tolist()
    n = len(tot)
    rows = []
    for position, i in enumerate(order.tolist()):
        breakdown = {
            "agent": agents[i], "total": tot[i], "rank": int(rk[i]), "group_size": n, "kpi": kp[i],
            "components": {"kpi": {"points": kp[i], "weight": KPI_WEIGHT},
                           "self": {"points": sf[i], "weight": SELF_WEIGHT}},
            "indicators": {ids[j]: {"value": vals[i][j], "points": pts[i][j], "max_points": full[j]}
                           for j in range(N_INDICATORS)},
        }  # fmt: skip
        rows.append(
            {
                "period_id": 1,
                "member_id": i,
                "position": position,
                "name": agents[i],
                "total": tot[i],
                "rank": int(rk[i]),
                "group_size": n,
                "provisional": False,
                "flags": {},
                "breakdown": json.dumps(breakdown, ensure_ascii=False),
            }  # fmt: skip
        )
    return rows


def kpibot_rows(scheme: Scheme, inputs: ScoreInputs, as_of: date) -> list[dict[str, Any]]:
    """Inputs → ``score_team`` → the ``result`` rows kpibot stores (``storage.results.row_values``),
    the way ``commands.results`` builds them (``TeamResult.to_dict()``: best first)."""
    result = score_team(scheme, inputs, as_of=as_of)
    return [
        row_values(1, position, {
            "member_id": position, "name": b["agent"], "total": b["total"], "rank": b["rank"],
            "group_size": b["group_size"], "provisional": b["provisional"], "flags": b["flags"],
            "breakdown": b,
        })
        for position, b in enumerate(result.to_dict())
    ]  # fmt: skip


class Collector:
    """Time the cyclic garbage collector takes (``gc.callbacks``), to tell its passes over the
    rows' containers from the building itself."""

    def __init__(self) -> None:
        self.seconds, self.passes, self._start = 0.0, 0, 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._start
            self.passes += 1


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    """The fastest of ``repeat`` runs (the least disturbed by other processes) and the last
    output."""
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


@dataclass
class Best:
    """The fastest run of one side: wall and CPU time (``process_time``: what other processes
    on a loaded machine do not add), and the collector's time in the fastest wall run."""

    wall: float = float("inf")
    cpu: float = float("inf")
    gc_seconds: float = 0.0
    gc_passes: int = 0


A = TypeVar("A")
B = TypeVar("B")


def interleaved(a: Callable[[], A], b: Callable[[], B], repeat: int) -> tuple[Best, A, Best, B]:
    """Time ``a`` and ``b`` alternately so both see the same machine load. Each side's last
    output is let go before its next run (as a command lets a team's rows go once stored)."""
    best_a, best_b = Best(), Best()
    out_a: A | None = None
    out_b: B | None = None
    collector = Collector()
    gc.callbacks.append(collector)
    try:
        for _ in range(repeat):
            out_a = None
            out_a = _run(a, best_a, collector)
            out_b = None
            out_b = _run(b, best_b, collector)
    finally:
        gc.callbacks.remove(collector)
    assert out_a is not None and out_b is not None, "repeat at least once"
    return best_a, out_a, best_b, out_b


def _run(fn: Callable[[], A], best: Best, collector: Collector) -> A:
    """One timed run of ``fn``, kept in ``best`` if it is the fastest so far."""
    collector.seconds, collector.passes = 0.0, 0
    cpu, start = time.process_time(), time.perf_counter()
    out = fn()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    if wall < best.wall:
        best.wall = wall
        best.gc_seconds, best.gc_passes = collector.seconds, collector.passes
    best.cpu = min(best.cpu, cpu)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=25)
    parser.add_argument("--rows-repeat", type=int, default=5, help="repeats of the whole path")
    parser.add_argument(
        "--no-freeze", action="store_true", help="leave the set-up in the collector's sight"
    )
    args = parser.parse_args()

    scheme: Scheme = parse_scheme(scheme_text())
    agents, values, reviews = make_data(args.agents)
    ids = [i.id for i in scheme.indicators]
    inputs = ScoreInputs(
        values=pd.DataFrame(values, index=agents, columns=ids),
        reviews=pd.DataFrame({"self.task": reviews}, index=agents),
    )
    agent_array = np.array(agents)
    as_of = date(2026, 11, 3)

    load_before = os.getloadavg()[0]
    score_team(scheme, inputs, as_of=as_of)  # warm up caches and imports
    if not args.no_freeze:  # as kpibot run does before it serves
        gc.collect()
        gc.freeze()
    arith, result, ref, ref_out = interleaved(
        lambda: score_team(scheme, inputs, as_of=as_of),
        lambda: numpy_reference(values, reviews, agent_array),
        args.repeat,
    )
    ref_total, ref_rank = ref_out

    assert isinstance(result, TeamResult)
    assert np.allclose(result.total, ref_total, rtol=0, atol=1e-9), (
        "totals differ from the NumPy reference"
    )
    assert np.array_equal(result.rank, ref_rank), "ranks differ from the NumPy reference"
    build_seconds, _ = timed(lambda: score_team(scheme, inputs, as_of=as_of).to_dict(), 1)
    rows_repeat = max(1, min(args.repeat, args.rows_repeat))
    kb, rows, rb, ref_rows = interleaved(
        lambda: kpibot_rows(scheme, inputs, as_of),
        lambda: reference_rows(values, reviews, agent_array),
        rows_repeat,
    )
    assert isinstance(rows, list) and isinstance(ref_rows, list) and len(rows) == len(ref_rows)
    assert [r["name"] for r in rows] == [r["name"] for r in ref_rows], "row order differs"
    assert all(abs(a["total"] - b["total"]) < 1e-6 for a, b in zip(rows, ref_rows, strict=True))

    ratio_numpy, ratio_rows = arith.wall / ref.wall, kb.wall / rb.wall
    load = [round(load_before, 2), round(os.getloadavg()[0], 2)]  # 1-minute, before and after
    ms = 1000
    print(f"agents × indicators      {args.agents:,} × {N_INDICATORS}")
    print(
        f"score_team (best of {args.repeat})   {arith.wall * ms:8.1f} ms"
        f"  (CPU {arith.cpu * ms:.1f})"
    )
    print(f"NumPy reference          {ref.wall * ms:8.1f} ms  (CPU {ref.cpu * ms:.1f})")
    print(f"ratio                    {ratio_numpy:8.2f}  (goal ≤ 2; CPU {arith.cpu / ref.cpu:.2f})")
    print(f"with every result object {build_seconds * ms:8.1f} ms  (to_dict for all agents, once)")
    print(f"ranks agree              {int(np.sum(result.rank == ref_rank)):,} of {args.agents:,}")
    print(
        f"inputs → stored rows     {kb.wall * ms:8.1f} ms  (best of {rows_repeat}; CPU "
        f"{kb.cpu * ms:.1f}; collector {kb.gc_seconds * ms:.0f} ms in {kb.gc_passes} passes)"
    )
    print(
        f"reference + plain rows   {rb.wall * ms:8.1f} ms  (CPU {rb.cpu * ms:.1f}; collector "
        f"{rb.gc_seconds * ms:.0f} ms in {rb.gc_passes} passes)"
    )
    print(f"ratio_rows               {ratio_rows:8.2f}  (goal ≤ 3; CPU {kb.cpu / rb.cpu:.2f})")
    print(f"load average             {load[0]:.2f} → {load[1]:.2f}")
    print(
        json.dumps(
            {
                "agents": args.agents,
                "indicators": N_INDICATORS,
                "seconds": round(arith.wall, 6),
                "numpy_seconds": round(ref.wall, 6),
                "ratio_numpy": round(ratio_numpy, 3),
                "cpu_ratio_numpy": round(arith.cpu / ref.cpu, 3),
                "to_dict_seconds": round(build_seconds, 4),
                "rows_seconds": round(kb.wall, 4),
                "reference_rows_seconds": round(rb.wall, 4),
                "ratio_rows": round(ratio_rows, 3),
                "cpu_ratio_rows": round(kb.cpu / rb.cpu, 3),
                "rows_gc_seconds": round(kb.gc_seconds, 4),
                "reference_rows_gc_seconds": round(rb.gc_seconds, 4),
                "ranks_agree": True,
                "frozen": not args.no_freeze,
                "load_average": load,
                "goals_met": bool(ratio_numpy <= 2 and ratio_rows <= 3),
            }
        )
    )


if __name__ == "__main__":
    main()
