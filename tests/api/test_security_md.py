"""SECURITY.md's role table says what ``api.auth.PERMISSIONS`` does, and README links it."""

from __future__ import annotations

from api.auth import PERMISSIONS
from api.store import ROLES
from tests.api.server import REPO

SECURITY_MD = REPO / "SECURITY.md"
HEADING = "## What each role can do"


def role_table(text: str) -> tuple[list[str], list[list[str]]]:
    """The header and rows of the first table under :data:`HEADING`."""
    lines = text.splitlines()
    start = lines.index(HEADING)
    rows: list[list[str]] = []
    for line in lines[start + 1:]:
        if line.startswith("## "):
            break
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif rows:
            break
    header, separator, *body = rows
    assert set("".join(separator)) <= {"-", ":"}
    return header, body


def table_problems(text: str) -> list[str]:
    """Where the role table of ``text`` disagrees with :data:`PERMISSIONS` (empty: nowhere)."""
    header, body = role_table(text)
    problems = []
    if header[:3] != ["permission", "what it covers", "anonymous"]:
        problems.append(f"header {header[:3]}")
    roles = header[3:]
    if sorted(roles) != sorted(ROLES):
        problems.append(f"role columns {roles}, expected {list(ROLES)}")
    table = {row[0]: row for row in body}
    if len(table) != len(body):
        problems.append("a permission is listed twice")
    if set(table) != set(PERMISSIONS):
        problems.append(f"permissions {sorted(table)}, expected {sorted(PERMISSIONS)}")
    for permission, row in table.items():
        cells = dict(zip(roles, row[3:], strict=True))
        if set(cells.values()) - {"yes", "no"}:
            problems.append(f"{permission}: cells must be yes or no")
        allowed = {role for role, cell in cells.items() if cell == "yes"}
        if allowed != PERMISSIONS.get(permission):
            problems.append(f"{permission}: table {sorted(allowed)}, "
                            f"PERMISSIONS {sorted(PERMISSIONS.get(permission, ()))}")
        # only public layers may be read without a key, and only with public_read on
        anonymous_ok = ("FIREREACH_PUBLIC_READ" in row[2]) if permission == "read" else row[2] == "no"
        if not anonymous_ok:
            problems.append(f"{permission}: anonymous cell {row[2]!r}")
    return problems


def test_role_table_matches_permissions() -> None:
    assert table_problems(SECURITY_MD.read_text(encoding="utf-8")) == []


def test_a_wrong_cell_is_caught() -> None:
    # planner given manage_keys in the table: PERMISSIONS says admin only.
    text = SECURITY_MD.read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| manage_keys |"))
    cells = row.split("|")
    cells[-3] = " yes "  # columns: '', permission, covers, anonymous, viewer, inspector, planner, admin, ''
    wrong = text.replace(row, "|".join(cells))
    assert table_problems(wrong) == ["manage_keys: table ['admin', 'planner'], PERMISSIONS ['admin']"]


def test_readme_links_security_md() -> None:
    assert "(SECURITY.md)" in (REPO / "README.md").read_text(encoding="utf-8")
    text = SECURITY_MD.read_text(encoding="utf-8")
    for section in ("## Threat model", HEADING, "## Visibility", "## Records", "## What is logged",
                    "## Keys", "## Limits and abuse", "## Deploying behind a reverse proxy"):
        assert section in text, section
