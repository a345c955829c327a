"""The image and the compose file agree with the project: Docker cannot run here, so the
files themselves are checked against pyproject.toml and the command line."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest

from bot.cli import build_app

ROOT = Path(__file__).parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def instructions() -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", DOCKERFILE)
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _sep, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def compose() -> dict[str, Any]:
    yaml = pytest.importorskip("yaml", reason="PyYAML reads deploy/compose.yml")
    loaded: dict[str, Any] = yaml.safe_load(
        (ROOT / "deploy" / "compose.yml").read_text(encoding="utf-8")
    )
    return loaded


def cli_commands() -> set[str]:
    app = build_app()
    names = {c.name or c.callback.__name__ for c in app.registered_commands}  # type: ignore[union-attr]
    for group in app.registered_groups:
        names |= {
            f"{group.name} {c.name or c.callback.__name__}"
            for c in group.typer_instance.registered_commands
        }  # type: ignore[union-attr]
    return names


def test_the_base_image_has_the_python_version_pyproject_requires() -> None:
    [base] = [rest for kw, rest in instructions() if kw == "FROM"]
    version = re.match(r"python:(\d+\.\d+)-slim", base)
    assert version, f"a slim Python base image, not {base}"
    requires = PYPROJECT["project"]["requires-python"]
    low = re.search(r">=\s*(\d+\.\d+)", requires)
    high = re.search(r"<\s*(\d+\.\d+)", requires)
    assert low and high
    as_tuple = tuple(int(p) for p in version.group(1).split("."))
    assert (
        tuple(int(p) for p in low.group(1).split("."))
        <= as_tuple
        < tuple(int(p) for p in high.group(1).split("."))
    )


def test_the_command_runs_pyprojects_console_script_and_the_cli_has_its_subcommands() -> None:
    [cmd] = [rest for kw, rest in instructions() if kw == "CMD"]
    script = " ".join(eval(cmd))  # noqa: S307 - the JSON-array form of CMD
    steps = [
        shlex.split(step.replace("exec ", "")) for step in script.split("sh -c", 1)[1].split("&&")
    ]
    assert [s[0] for s in steps] == ["kpibot", "kpibot"]
    assert PYPROJECT["project"]["scripts"]["kpibot"] == "bot.cli:main"
    assert [" ".join(s[1:]) for s in steps] == ["db upgrade", "run"]
    assert {"db upgrade", "run"} <= cli_commands()
    assert "exec kpibot run" in script, "kpibot is PID 1 and receives SIGTERM itself"


def test_dependencies_are_installed_in_their_own_layer_before_the_code_is_copied() -> None:
    steps = instructions()
    first_copy = next(i for i, (kw, rest) in enumerate(steps) if kw == "COPY")
    assert steps[first_copy][1].split()[0] == "pyproject.toml"
    first_install = next(
        i for i, (kw, rest) in enumerate(steps) if kw == "RUN" and "pip install ." in rest
    )
    code_copies = [i for i, (kw, rest) in enumerate(steps) if kw == "COPY" and i != first_copy]
    assert first_copy < first_install < min(code_copies)


def test_every_package_pyproject_ships_is_copied_into_the_image() -> None:
    copied = {rest.split()[0] for kw, rest in instructions() if kw == "COPY"}
    packages = {
        p.rstrip("*") for p in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    assert packages <= copied
    assert "schemes" in copied, "the ready schemes the demo and `kpibot team add` read"


def test_the_image_runs_as_a_user_that_is_not_root_and_checks_its_health_on_a_real_route() -> None:
    users = [rest for kw, rest in instructions() if kw == "USER"]
    assert users and users[-1] not in ("root", "0")
    [health] = [rest for kw, rest in instructions() if kw == "HEALTHCHECK"]
    path = re.search(r"127\.0\.0\.1:[^/]+(/\w+)", health)
    assert path and path.group(1) == "/healthz"
    from bot.web import build_web_app

    assert "/healthz" in {getattr(r, "path", "") for r in build_web_app().routes}


def test_compose_runs_two_replicas_of_the_image_with_the_image_command_on_postgresql() -> None:
    services = compose()["services"]
    replicas = {name: s for name, s in services.items() if s.get("image", "").startswith("kpibot")}
    assert len(replicas) == 2
    [cmd] = [rest for kw, rest in instructions() if kw == "CMD"]
    for name, service in replicas.items():
        assert service["command"] == eval(cmd), name  # noqa: S307
        env = service["environment"]
        assert (
            env["DATABASE_URL"].startswith("postgresql://")
            and "@postgres:5432/" in env["DATABASE_URL"]
        )
        assert env["ENVIRONMENT"] == "production"
        assert env["PUBLIC_URL"].startswith("https://")
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert service["build"]["dockerfile"] == "Dockerfile"
    assert "postgres" in services["postgres"]["image"]


def test_every_setting_compose_passes_is_a_kpibot_setting() -> None:
    from bot.settings import Settings

    known = {name.upper() for name in Settings.model_fields}
    services = compose()["services"]
    for name in ("kpibot-1", "kpibot-2"):
        assert set(services[name]["environment"]) <= known
    example = (ROOT / "deploy" / "kpibot.env.example").read_text(encoding="utf-8")
    names = {
        line.split("=", 1)[0]
        for line in example.splitlines()
        if "=" in line and not line.startswith("#")
    }
    assert names - {"DOMAIN", "POSTGRES_PASSWORD"} <= known


def test_the_proxy_balances_over_both_replicas_and_hides_the_metrics() -> None:
    services = compose()["services"]
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text(encoding="utf-8")
    upstreams = re.search(r"reverse_proxy\s+([^{]+)\{", caddyfile)
    assert upstreams
    assert set(upstreams.group(1).split()) == {"kpibot-1:8080", "kpibot-2:8080"}
    assert {"kpibot-1", "kpibot-2"} <= set(services["proxy"]["depends_on"])
    assert "health_uri /readyz" in caddyfile
    assert re.search(r"@internal path [^\n]*/metrics", caddyfile)
