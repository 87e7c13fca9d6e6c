"""The code stays clean: ruff and mypy --strict are part of the suite."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_is_clean() -> None:
    r = run("ruff", "check", ".")
    assert r.returncode == 0, r.stdout + r.stderr


def test_mypy_strict_is_clean() -> None:
    r = run("mypy")
    assert r.returncode == 0, r.stdout + r.stderr


SOURCE_PACKAGES = ("room", "signaling", "media", "moderation")
MAX_LINES = 400


def sources(*packages: str) -> list[Path]:
    return sorted(p for pkg in packages for p in (ROOT / pkg).rglob("*.py"))


def test_no_source_file_is_over_400_lines() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in sources(*SOURCE_PACKAGES)
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"split these by concern: {long}"


def test_no_page_script_is_over_400_lines() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in sorted((ROOT / "static").rglob("*.js"))
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"split these by concern: {long}"


def imported(path: Path) -> set[str]:
    """Every module a source file imports (absolute names; `from a import b` gives a and a.b)."""
    tree = ast.parse(path.read_text())
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out.update(f"{node.module}.{alias.name}" for alias in node.names)
    return out


# Imports point down only (docs/architecture.md): package -> prefixes it must not import.
FORBIDDEN = {
    "room": ("signaling", "moderation", "media"),
    "room/audience": ("signaling", "moderation", "media", "room.accounts"),
    "room/accounts": ("signaling", "moderation", "media"),
    "moderation": ("signaling", "media", "room.accounts.users", "room.accounts.logins"),
    "media": ("room", "signaling", "moderation"),
}
CORE_MAY_NOT = ("room.audience",)
NETWORK = ("aiohttp", "aiosmtplib", "socketio", "maxminddb", "smtplib", "urllib.request")


def test_imports_point_down_only() -> None:
    wrong: list[str] = []
    for folder, banned in FORBIDDEN.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            for name in imported(path):
                if any(name == b or name.startswith(b + ".") for b in banned):
                    wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    core = [p for p in (ROOT / "room").rglob("*.py") if p.parent.name not in ("audience", "accounts")]
    for path in core:
        for name in imported(path):
            if any(name == b or name.startswith(b + ".") for b in CORE_MAY_NOT):
                wrong.append(f"{path.relative_to(ROOT)} (room core) imports {name}")
    assert not wrong, "\n".join(wrong)


def test_the_domain_does_no_network_io() -> None:
    wrong = [
        f"{p.relative_to(ROOT)} imports {name}"
        for p in sources("room", "moderation")
        for name in imported(p)
        if any(name == n or name.startswith(n + ".") for n in NETWORK)
    ]
    assert not wrong, "\n".join(wrong)
