"""Stored functions and views: the database holds exactly what their current files say.

Each function and view of ours has one current file, service/<domain>/sql/<name>.sql, holding its
CREATE OR REPLACE statement. On a freshly migrated database, every object has its file, every file names
an object, and running a file changes nothing the database stores: a comment inside a body, a SET
clause, a volatility that differs is a failure.
"""

from __future__ import annotations

import asyncio
import difflib
import re
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from service import cli
from service.db import SERVICE_DIR, current_sql_files
from service.kit.devdb import asyncpg_dsn

# Functions (plain and procedures) and views in the public schema, except what an extension owns.
OBJECTS = """
SELECT p.proname AS name, pg_get_functiondef(p.oid) AS definition
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'public' AND p.prokind IN ('f', 'p')
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
UNION ALL
SELECT c.relname, pg_get_viewdef(c.oid)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind = 'v'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
"""

# The statement a current file holds, once its comments are set aside.
STATEMENT = re.compile(r"\bCREATE\s+(?:OR\s+REPLACE\s+)?(FUNCTION|VIEW)\s+(?:public\.)?(\w+)", re.IGNORECASE)

HOW_TO_CHANGE = (
    "A current file holds what the database should run, and a migration brings databases to it: after\n"
    "changing service/<domain>/sql/<name>.sql, add a migration that applies a frozen copy of the file\n"
    "(migrations/versions/<revision>/upgrade/<name>.sql, and the text it replaces in downgrade/; see\n"
    "revision 0020). If a migration changed the object, write the same text into its current file."
)


@pytest.fixture
async def connection(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(**asyncpg_dsn(database_url))
    try:
        yield connection
    finally:
        await connection.close()


async def _definitions(connection: asyncpg.Connection) -> dict[str, list[str]]:
    """Every function and view of ours by name: what the database stores, as it would write it out."""
    definitions: dict[str, list[str]] = {}
    for row in await connection.fetch(OBJECTS):
        definitions.setdefault(row["name"], []).append(row["definition"])
    return {name: sorted(texts) for name, texts in definitions.items()}


def _without_comments(sql: str) -> str:
    return re.sub(r"--[^\n]*", "", sql)


def _shown(path: Path) -> str:
    return str(path.relative_to(SERVICE_DIR.parent))


async def test_every_function_and_view_has_exactly_one_current_file_naming_it(
    connection: asyncpg.Connection,
) -> None:
    files = current_sql_files()  # raises when a name has files in two domains
    stored = await _definitions(connection)

    assert set(stored) <= set(files), (
        f"stored in a migrated database but with no current file: {sorted(set(stored) - set(files))}. "
        "Write service/<domain>/sql/<name>.sql holding the object's CREATE OR REPLACE statement."
    )
    assert set(files) <= set(stored), (
        f"current files naming no function or view of a migrated database: "
        f"{[_shown(files[name]) for name in sorted(set(files) - set(stored))]}. "
        "A migration creates the object from a frozen copy of its file, or the file goes."
    )
    overloaded = sorted(name for name, texts in stored.items() if len(texts) > 1)
    assert not overloaded, f"one current file holds one definition, but these names have several: {overloaded}"
    for name, path in files.items():
        statements = STATEMENT.findall(_without_comments(path.read_text(encoding="utf-8")))
        assert [(kind.upper(), stated) for kind, stated in statements] in ([("FUNCTION", name)], [("VIEW", name)]), (
            f"{_shown(path)} must hold exactly one CREATE OR REPLACE FUNCTION (or VIEW) statement, of {name}; "
            f"it holds {statements}"
        )
        assert re.search(r"\bCREATE\s+OR\s+REPLACE\b", path.read_text(encoding="utf-8"), re.IGNORECASE), (
            f"{_shown(path)} creates {name} without OR REPLACE: a current file must run on a database that has it"
        )


async def test_the_database_stores_each_object_exactly_as_its_current_file_writes_it(
    connection: asyncpg.Connection,
) -> None:
    stored = await _definitions(connection)
    differences = []
    for name, path in current_sql_files().items():
        transaction = connection.transaction()
        await transaction.start()
        try:
            await connection.execute(path.read_text(encoding="utf-8"))
            written = (await _definitions(connection)).get(name, [])
        finally:
            await transaction.rollback()
        if written != stored.get(name, []):
            diff = difflib.unified_diff(
                "\n".join(stored.get(name, [])).splitlines(),
                "\n".join(written).splitlines(),
                fromfile=f"{name} as the migrated database stores it",
                tofile=f"{name} as {_shown(path)} writes it",
                lineterm="",
            )
            differences.append("\n".join(diff))

    assert not differences, (
        f"{len(differences)} stored definition(s) differ from their current file.\n{HOW_TO_CHANGE}\n\n"
        + "\n\n".join(differences)
    )


def _body(path: Path) -> str:
    """The function's body as its current file writes it: what the database stores between the quotes."""
    text = path.read_text(encoding="utf-8")
    start = text.index("$$") + len("$$")
    return text[start : text.rindex("$$")]


async def test_show_function_prints_what_runs_and_names_its_current_file(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TANPUHUI_DATABASE_URL", database_url)

    await asyncio.to_thread(cli.main, ["db", "show-function", "ingest_record_batch"])

    printed = capsys.readouterr().out
    path = current_sql_files()["ingest_record_batch"]
    assert "service/ledger/sql/ingest_record_batch.sql" in printed.splitlines()[0]
    assert "CREATE OR REPLACE FUNCTION public.ingest_record_batch(" in printed
    assert "SET enable_seqscan TO 'off'" in printed
    assert _body(path) in printed


async def test_show_function_of_an_unknown_name_exits_1_and_says_so(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TANPUHUI_DATABASE_URL", database_url)

    with pytest.raises(SystemExit) as exited:
        await asyncio.to_thread(cli.main, ["db", "show-function", "no_such_function"])

    assert exited.value.code == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "no function named 'no_such_function'" in captured.err
