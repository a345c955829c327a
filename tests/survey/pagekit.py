"""Small helpers for driving the survey page over HTTP in tests."""

from __future__ import annotations

import re

from sqlalchemy.engine import Engine
from sqlmodel import func, select
from starlette.testclient import TestClient

from storage.db import unit_of_work
from storage.models import CustomerRating

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(client: TestClient, token: str) -> str:
    page = client.get(f"/s/{token}")
    assert page.status_code == 200, page.text
    found = CSRF.search(page.text)
    assert found, "the form has no csrf field"
    return found.group(1)


def rate(
    client: TestClient,
    token: str,
    stars: str = "5",
    comment: str = "",
    resolved: str = "",
    **extra: str,
):  # type: ignore[no-untyped-def]
    data = {
        "csrf": csrf_of(client, token),
        "stars": stars,
        "comment": comment,
        "resolved": resolved,
        **extra,
    }
    return client.post(f"/s/{token}", data=data)


def rating_rows(engine: Engine) -> list[CustomerRating]:
    with unit_of_work(engine) as session:
        return list(session.exec(select(CustomerRating).order_by(CustomerRating.id)).all())


def rating_count(engine: Engine) -> int:
    with unit_of_work(engine) as session:
        return int(session.exec(select(func.count()).select_from(CustomerRating)).one())
