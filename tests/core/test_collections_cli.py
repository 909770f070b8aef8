"""`ragstream collection|user|audit` and --collection/--as through the real CLI (SQLite)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from ragstream.cli import cli

SECRET = "QUASAR-0093"


def run(ws: Path, *args: str, stdin: str | None = None, ok: bool = True) -> str:
    result = CliRunner().invoke(cli, [*args, "-w", str(ws)], input=stdin)
    assert (result.exit_code == 0) == ok, result.output
    # a RagstreamError reaches the runner as the exception (ragstream.cli.main prints it)
    return result.output + ("" if ok or result.exception is None else str(result.exception))


def test_collections_users_and_what_a_user_sees(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    for name, text in {
        "legal/merger.txt": f"The merger code name is {SECRET}; the merger closes in May.",
        "docs/guide.txt": "The merger of two branches needs a pull request review.",
        "docs/faq.txt": "Merger questions go to the team channel.",
    }.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    run(ws, "collection", "create", "legal")
    run(ws, "collection", "create", "docs")
    run(ws, "ingest", "-q", str(tmp_path / "legal"), "--collection", "legal")
    run(ws, "ingest", "-q", str(tmp_path / "docs"), "-c", "docs")
    out = run(ws, "user", "add", "erin", "--password-stdin", stdin="erin-password\n")
    assert "added user erin" in out and "erin-password" not in out
    run(ws, "user", "add", "x", "--password-stdin", stdin="short\n", ok=False)
    run(ws, "collection", "grant", "docs", "erin", "viewer")

    assert SECRET in run(ws, "search", "merger code name")  # the local CLI is the admin
    seen = json.loads(run(ws, "search", "merger code name", "--as", "erin", "--json"))
    assert len(seen) == 2 and {h["path"] for h in seen} == {"docs/guide.txt", "docs/faq.txt"}
    assert SECRET not in run(
        ws, "ask", "what is the merger code name?", "--offline", "--as", "erin"
    )
    assert SECRET not in run(ws, "ask", "merger code name", "--prompt-only", "--as", "erin")
    assert "may not read" in run(ws, "search", "merger", "--as", "erin", "-c", "legal", ok=False)
    assert "legal" not in run(ws, "docs", "--as", "erin")
    run(ws, "docs", "--remove", "legal/merger.txt", "--as", "erin", ok=False)
    as_group = run(ws, "search", "merger", "--as", "frank", "--as-group", "lawyers", "--json")
    assert json.loads(as_group) == []
    run(ws, "collection", "grant", "legal", "group:lawyers", "editor")
    as_group = run(ws, "search", "merger code", "--as", "frank", "--as-group", "lawyers", "--json")
    assert {h["path"] for h in json.loads(as_group)} == {"legal/merger.txt"}

    listed = json.loads(run(ws, "collection", "list", "--json"))
    assert {c["name"]: (c["documents"], c["members"]) for c in listed} == {
        "default": (0, {}),
        "docs": (2, {"user:erin": "viewer"}),
        "legal": (1, {"group:lawyers": "editor"}),
    }
    run(ws, "collection", "rename", "docs", "handbook")
    assert len(json.loads(run(ws, "search", "merger", "--as", "erin", "--json"))) == 2
    run(ws, "collection", "revoke", "handbook", "erin")
    assert json.loads(run(ws, "search", "merger", "--as", "erin", "--json")) == []
    assert "1 documents removed" in run(ws, "collection", "delete", "legal", "--yes")
    assert SECRET not in run(ws, "search", "merger code name", "-k", "10")
    assert json.loads(run(ws, "user", "list", "--json"))[0]["name"] == "erin"
    run(ws, "user", "remove", "erin")

    log = json.loads(run(ws, "audit", "--json"))
    actions = [(e["action"], e["target"]) for e in log]
    assert ("upload", "legal/merger.txt") in actions
    assert ("grant", "docs") in actions and ("collection.delete", "legal") in actions
    assert actions[-1] == ("user.remove", "erin")
    assert "erin-password" not in json.dumps(log)
