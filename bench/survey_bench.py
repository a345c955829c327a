"""Benchmark of the survey page's POST (issue #7): sustained submissions, nothing lost.

One uvicorn server (a child process, 127.0.0.1, one worker) serves two routes on the
same engine:

* ``POST /s/{token}`` — kpibot's survey page as deployed: token signature, expiry,
  form token (CSRF), validation, the repeat policy, the unit of work through
  ``commands.ratings.record_rating`` and the thank-you page;
* ``POST /bare/{token_id}`` — a bare Starlette endpoint that parses the same form and
  inserts the same ``customer_rating`` row (one ``session.add`` and commit), nothing else.

A lean keep-alive HTTP/1.1 client (raw asyncio streams, so the client costs little)
sends fixed batches with fixed concurrency, alternating kpibot and bare rounds, for
SQLite (a WAL file) and PostgreSQL (``BENCH_DATABASE_URL`` / ``TEST_DATABASE_URL``, in a
schema of its own, dropped after; skipped with a note when unreachable). Every request
carries a fresh link, so every 200 is a new row; afterwards the rows are counted:
``lost`` = accepted answers without a row. Reports requests/second, p50/p99 latency,
the ratio kpibot/bare; the last line is JSON with at least ``ratio_throughput`` (the
lowest of the backends) and ``lost``. Goal: ratio ≥ 0.7, lost = 0.

    .venv/bin/python bench/survey_bench.py [--requests 400] [--rounds 3] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SECRET = "bench-secret-Zq3v8Rk2pWn5Yt7Lc9Hs4Jd6Fb1Mx0Ge"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


# ---------------------------------------------------------------- the server (child process)


def build_server_app(url: str) -> Any:
    from sqlalchemy.engine import Engine
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    from bot.survey_page import survey_routes
    from bot.web import build_web_app
    from commands.context import AppConfig
    from storage.db import make_engine, unit_of_work
    from storage.models import CustomerRating

    engine: Engine = make_engine(url, **_pool_args(url))
    config = AppConfig(
        public_url="http://127.0.0.1", secret=SECRET, extra={"survey_rate_limit": 10**9}
    )
    team_id, member_id, period_id = (int(x) for x in os.environ["BENCH_IDS"].split(","))

    def insert(token_id: str, stars: int, comment: str | None, resolved: bool | None) -> None:
        now = datetime.now(UTC)
        with unit_of_work(engine) as session:
            session.add(
                CustomerRating(
                    team_id=team_id,
                    member_id=member_id,
                    period_id=period_id,
                    token_id=token_id,
                    stars=stars,
                    comment=comment,
                    resolved=resolved,
                    ref=None,
                    created_at=now,
                    updated_at=now,
                )
            )

    async def bare(request: Request) -> Response:
        form = await request.form()
        stars = int(str(form.get("stars", "0")))
        if not 1 <= stars <= 5:
            return PlainTextResponse("bad", status_code=400)
        comment = str(form.get("comment") or "") or None
        resolved = {"yes": True, "no": False}.get(str(form.get("resolved", "")))
        await run_in_threadpool(insert, request.path_params["token_id"], stars, comment, resolved)
        return PlainTextResponse("thanks")

    routes = [*survey_routes(engine, config), Route("/bare/{token_id}", bare, methods=["POST"])]
    return build_web_app(routes)


def _pool_args(url: str) -> dict[str, Any]:
    return {} if url.startswith("sqlite") else {"pool_size": 10, "max_overflow": 10}


def serve(url: str, port_file: str) -> None:
    import socket

    import uvicorn

    app = build_server_app(url)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(256)  # connections queue until uvicorn accepts them
    tmp = Path(port_file + ".tmp")
    tmp.write_text(str(sock.getsockname()[1]))
    tmp.replace(port_file)
    uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")).run(
        sockets=[sock]
    )


# ---------------------------------------------------------------- the client


async def _one_connection(
    port: int, requests: list[bytes], latencies: list[float], statuses: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for raw in requests:
            started = time.perf_counter()
            writer.write(raw)
            await writer.drain()
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _sep, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            if length:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            statuses.append(int(status_line.split()[1]))
    finally:
        writer.close()


def _post(path: str, fields: dict[str, str]) -> bytes:
    body = urlencode(fields).encode("ascii")
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    )
    return head.encode("ascii") + body


def make_requests(kind: str, n: int, ids: tuple[int, int, int], expires: datetime) -> list[bytes]:
    from itsdangerous import TimestampSigner

    from bot.survey_page import FORM_SALT
    from commands.survey_tokens import make_token, read_token

    team_id, member_id, period_id = ids
    form_signer = TimestampSigner(SECRET, salt=FORM_SALT, key_derivation="hmac")
    out = []
    for i in range(n):
        fields = {
            "stars": str(1 + i % 5),
            "comment": "回复很快，谢谢" if i % 3 == 0 else "",
            "resolved": ("yes", "no", "")[i % 3],
            "lang": "zh",
        }
        if kind == "kpibot":
            token = make_token(
                SECRET,
                member_id=member_id,
                team_id=team_id,
                period_id=period_id,
                expires_at=expires,
            )
            fields["csrf"] = form_signer.sign(read_token(SECRET, token).token_id).decode()
            out.append(_post(f"/s/{token}", fields))
        else:
            out.append(_post(f"/bare/{quote(uuid.uuid4().hex[:12])}", fields))
    return out


async def run_round(port: int, requests: list[bytes], concurrency: int) -> dict[str, Any]:
    chunks = [requests[i::concurrency] for i in range(concurrency)]
    latencies: list[float] = []
    statuses: list[int] = []
    started = time.perf_counter()
    await asyncio.gather(*(_one_connection(port, c, latencies, statuses) for c in chunks if c))
    elapsed = time.perf_counter() - started
    return {"elapsed": elapsed, "latencies": latencies, "statuses": statuses}


# ---------------------------------------------------------------- one backend


def seed(url: str) -> tuple[int, int, int]:
    from storage import repo
    from storage.db import make_engine, unit_of_work, upgrade

    engine = make_engine(url)
    upgrade(engine)
    with unit_of_work(engine) as session:
        team = repo.create_team(session=session, name="bench", lang="zh")
        member = repo.add_member(session=session, team=team, name="王小红", role="agent")
        period = repo.get_or_create_period(
            session=session, team=team, key=date.today().strftime("%Y-%m")
        )
        ids = (team.id, member.id, period.id)
    engine.dispose()
    assert all(ids)
    return ids  # type: ignore[return-value]


def count_rows(url: str) -> int:
    from sqlmodel import func, select

    from storage.db import make_engine, unit_of_work
    from storage.models import CustomerRating

    engine = make_engine(url)
    with unit_of_work(engine) as session:
        n = int(session.exec(select(func.count()).select_from(CustomerRating)).one())
    engine.dispose()
    return n


def bench_backend(name: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    ids = seed(url)
    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "port"
        env = {**os.environ, "BENCH_IDS": ",".join(map(str, ids))}
        child = subprocess.Popen(
            [sys.executable, __file__, "--serve", url, str(port_file)],
            env=env,
            cwd=Path(__file__).resolve().parents[1],
        )
        try:
            deadline = time.monotonic() + 30
            while not (port_file.exists() and port_file.read_text()):
                if time.monotonic() > deadline or child.poll() is not None:
                    raise RuntimeError(f"{name}: the server did not start")
                time.sleep(0.05)
            port = int(port_file.read_text())
            expires = datetime.now(UTC) + timedelta(days=1)
            results: dict[str, list[dict[str, Any]]] = {"kpibot": [], "bare": []}
            # warm-up: connections, caches, the first page render
            for kind in ("kpibot", "bare"):
                asyncio.run(
                    run_round(port, make_requests(kind, 40, ids, expires), args.concurrency)
                )
            for _round in range(args.rounds):
                for kind in ("kpibot", "bare") if _round % 2 == 0 else ("bare", "kpibot"):
                    reqs = make_requests(kind, args.requests, ids, expires)
                    results[kind].append(asyncio.run(run_round(port, reqs, args.concurrency)))
        finally:
            child.terminate()
            child.wait(timeout=10)
    rows = count_rows(url)
    summary: dict[str, Any] = {}
    accepted_total = 0
    for kind, rounds in results.items():
        lat = sorted(x for r in rounds for x in r["latencies"])
        statuses = [s for r in rounds for s in r["statuses"]]
        elapsed = sum(r["elapsed"] for r in rounds)
        accepted = sum(1 for s in statuses if s == 200)
        accepted_total += accepted
        summary[kind] = {
            "requests": len(statuses),
            "ok": accepted,
            "errors": len(statuses) - accepted,
            "rps": len(statuses) / elapsed,
            "p50_ms": 1000 * statistics.median(lat),
            "p99_ms": 1000 * lat[min(len(lat) - 1, int(0.99 * len(lat)))],
        }
    warmup_ok = 80  # both warm-up rounds write rows too
    summary["rows"] = rows
    summary["lost"] = max(0, accepted_total + warmup_ok - rows)
    summary["ratio_throughput"] = summary["kpibot"]["rps"] / summary["bare"]["rps"]
    return summary


def _pg_url() -> str | None:
    from storage.db import normalize_url

    url = normalize_url(
        os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG
    )
    try:
        import psycopg

        plain = url.replace("postgresql+psycopg://", "postgresql://", 1)
        psycopg.connect(plain, connect_timeout=3).close()
    except Exception as exc:  # noqa: BLE001 - any failure means: no server to measure
        print(f"postgresql: skipped, unreachable at {url}: {exc}")
        return None
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=400, help="requests per round and kind")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--serve", nargs=2, metavar=("URL", "PORT_FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(*args.serve)
        return
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        report["sqlite"] = bench_backend("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", args)
    pg = _pg_url()
    if pg is not None:
        from sqlalchemy import text

        from storage.db import make_engine

        schema = f"kpibot_bench_{os.getpid()}"
        admin = make_engine(pg, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            report["postgresql"] = bench_backend(
                "postgresql", f"{pg}?options=-csearch_path%3D{schema}", args
            )
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()
    for name, r in report.items():
        for kind in ("kpibot", "bare"):
            k = r[kind]
            print(
                f"{name:10} {kind:6} {k['rps']:8.1f} req/s  p50 {k['p50_ms']:6.2f} ms  "
                f"p99 {k['p99_ms']:6.2f} ms  ok {k['ok']}/{k['requests']}"
            )
        print(f"{name:10} ratio {r['ratio_throughput']:.2f}  rows {r['rows']}  lost {r['lost']}")
    final = {
        "ratio_throughput": round(min(r["ratio_throughput"] for r in report.values()), 3),
        "lost": sum(r["lost"] for r in report.values()),
        "errors": sum(r[k]["errors"] for r in report.values() for k in ("kpibot", "bare")),
        **{f"ratio_{name}": round(r["ratio_throughput"], 3) for name, r in report.items()},
        **{
            f"rps_{name}_{k}": round(r[k]["rps"], 1)
            for name, r in report.items()
            for k in ("kpibot", "bare")
        },
        **{
            f"p99_ms_{name}_{k}": round(r[k]["p99_ms"], 2)
            for name, r in report.items()
            for k in ("kpibot", "bare")
        },
    }
    print(json.dumps(final))


if __name__ == "__main__":
    main()
