"""Integrity verification: recompute the ledger's invariants and the sealed log from the rows themselves.

Run by `tanpuhui audit verify` and `POST /v1/admin/audit/verify` (one answer, or JSON lines of progress and
then the findings). Each check walks its table in id order, in chunks, so that a year of ledger is never
held in memory, and reports progress (done of total) as it goes:

- balances: the sum of all balances is zero; no resident or enterprise balance is negative; every stored
  balance is the sum of that account's entries and of its lot holdings; every transfer is two entries
  that cancel;
- issuance: every issuance points at a behaviour and the factor version it was computed with, and the
  behaviour recomputes — the version's reduction for its type and category, its tier's weight, the one
  conversion function — to the grams stored; what was issued for it is what it says it credited;
- consent: every partner record credited was stored while a link the resident consented to was in force
  (granted at or before it, not revoked until after), and every link's grant and revocation is a consent
  event at the very time the link says;
- the log: every sealed entry and consent event still hashes to its leaf, leaves follow entry order (and
  consent events theirs) with none missing, the tree rebuilt from them gives the root of every signed
  checkpoint, and every signature verifies; every subtree stored for proofs (merkle.STORED_FROM) is there
  and is the hash of its leaves.

Nothing is repaired: each problem is named, and the caller exits non-zero.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from service.audit import merkle
from service.audit.receipt_verifier import CONSENT_FIELDS, checkpoint_message, consent_leaf_line, leaf_hash, leaf_line
from service.audit.repository import verification as repository
from service.audit.schemas import CheckRead, VerifyLine, VerifyRead
from service.audit.sealer import fetch_nodes
from service.db import Database
from service.errors import is_database_outage
from service.factors.conversion import convert
from service.factors.model import FactorSet, HydrogenSource

CHUNK = 20_000
MAX_PROBLEMS = 50  # per check; the count says how many more there were


@dataclass(frozen=True, slots=True)
class Step:
    """Where a run is: `done` of `total` items of a check (its name is the phase), and a line for people."""

    phase: str
    done: int
    total: int
    message: str


Progress = Callable[[Step], None]

# The ledger's invariants, each a query for what breaks it (by name): `audit verify` runs them all, and so
# does every test that changes the ledger (tests/fixtures/behaviours.py).
LEDGER_CHECKS = repository.LEDGER_CHECKS


@dataclass
class Check:
    name: str
    checked: int = 0
    problems: list[str] = field(default_factory=list)
    more: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, message: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(message)
        else:
            self.more += 1


@dataclass
class Report:
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)


async def _balances(connection: AsyncConnection, progress: Progress) -> Check:
    check = Check("balances")
    steps = 1 + len(LEDGER_CHECKS)
    progress(Step(check.name, 0, steps, "balances: summing every balance…"))
    total = await repository.sum_of_balances(connection)
    if total != 0:
        check.problem(f"sum of all balances is {total} g, not zero")
    check.checked += 1
    for what in LEDGER_CHECKS:
        for row in await repository.ledger_violations(connection, check=what):
            check.problem(f"{what}: {dict(row._mapping)}")
        check.checked += 1
        progress(Step(check.name, check.checked, steps, f"balances: {what.split(' ', 1)[0]}… checked"))
    return check


def _reductions(factor_set: FactorSet, behaviour_type: str, category: str | None) -> set[Decimal]:
    """The reductions per unit the version allows for a behaviour: one, or one per hydrogen source."""
    factor = factor_set.behaviour[behaviour_type]  # type: ignore[index]
    if factor.hydrogen is not None:
        return {factor.emission(hydrogen_source=source).reduction_g_per_unit for source in HydrogenSource}
    return {factor.emission(category=category).reduction_g_per_unit}


def _weights(factor_set: FactorSet, behaviour_type: str, tier: str) -> set[Decimal]:
    weight, _ = factor_set.behaviour[behaviour_type].weight(tier)  # type: ignore[index]
    return {weight}


async def _issuance(connection: AsyncConnection, progress: Progress) -> Check:
    check = Check("issuance")
    total = await repository.behaviour_count(connection)
    progress(Step(check.name, 0, total, f"issuance: {total:,} behaviours to recompute"))
    versions = {row.id: FactorSet.model_validate(row.content) for row in await repository.factor_versions(connection)}
    for row in await repository.orphan_issuances(connection):
        check.problem(f"issuance transfer {row.id} traces to no behaviour or no factor version")
    after = 0
    while True:
        rows = await repository.behaviours(connection, after=after, chunk=CHUNK)
        for b in rows:
            check.checked += 1
            label = f"behaviour {b.id}"
            if b.issued != b.credited_g:
                check.problem(f"{label}: credited {b.credited_g} g but {b.issued} g were issued for it")
            if b.other_versions:
                check.problem(f"{label}: issued under another factor version than its own")
            version = versions.get(b.factor_version_id)
            if version is None:
                check.problem(f"{label}: factor version {b.factor_version_id} does not exist")
                continue
            try:
                reductions = _reductions(version, b.behaviour_type, b.category)
                weights = _weights(version, b.behaviour_type, b.tier)
            except KeyError:
                check.problem(
                    f"{label}: {b.behaviour_type}/{b.category} is not in factor version {b.factor_version_id}"
                )
                continue
            if b.reduction_g_per_unit not in reductions or b.weight not in weights:
                check.problem(f"{label}: reduction {b.reduction_g_per_unit} × weight {b.weight} is not the version's")
                continue
            grams = convert(b.quantity, b.reduction_g_per_unit, weight=b.weight).grams
            if grams != b.grams or b.credited_g > grams:
                check.problem(f"{label}: recomputes to {grams} g, stored {b.grams} g, credited {b.credited_g} g")
        if len(rows) < CHUNK:
            break
        after = rows[-1].id
        progress(Step(check.name, check.checked, total, f"issuance: {check.checked:,} behaviours recomputed"))
    progress(Step(check.name, check.checked, total, f"issuance: {check.checked:,} behaviours recomputed"))
    return check


async def _consent(connection: AsyncConnection, progress: Progress) -> Check:
    check = Check("consent")
    progress(Step(check.name, 0, 2, "consent: partner credits against the links in force…"))
    check.checked = await repository.partner_credit_count(connection)
    for row in await repository.credits_without_consent(connection, limit=MAX_PROBLEMS + 1):
        check.problem(
            f"behaviour {row.id} of partner {row.partner_id}, stored {row.created_at.isoformat()}, "
            "had no link in force for its resident"
        )
    for row in await repository.links_without_events(connection, limit=MAX_PROBLEMS + 1):
        check.problem(f"link {row.public_id}: its grant or revocation is not a consent event at its time")
    progress(Step(check.name, 2, 2, f"consent: {check.checked:,} partner credits checked"))
    return check


def _leaf_digest(check: Check, row: Row[Any]) -> bytes:
    """The leaf hash of a sealed entry or consent event as its row reads now (the stored one if it is gone)."""
    if row.consent_event_id is not None:
        what = f"sealed consent event {row.consent_event_id} (leaf {row.idx})"
        if row.consent_id is None:
            check.problem(f"{what} is missing")
            return bytes(row.stored)
        digest = leaf_hash(consent_leaf_line({name: getattr(row, f"consent_{name}") for name in CONSENT_FIELDS}))
    else:
        what = f"sealed entry {row.entry_id} (leaf {row.idx})"
        if row.id is None:
            check.problem(f"{what} is missing from the ledger")
            return bytes(row.stored)
        digest = leaf_hash(leaf_line(dict(row._mapping)))
    if digest != bytes(row.stored):
        check.problem(f"{what} was changed after sealing")
    return digest


async def _log(connection: AsyncConnection, public_key: Ed25519PublicKey, progress: Progress) -> Check:
    check = Check("sealed log")
    total = await repository.leaf_count(connection)
    progress(Step(check.name, 0, total, f"sealed log: {total:,} entries to rehash"))
    size, last_entry, last_consent = 0, 0, 0
    frontier: dict[merkle.Node, bytes] = {}
    subtrees: dict[merkle.Node, bytes] = {}  # stored above the leaves, completed by this chunk's leaves
    checkpoints = deque(await repository.checkpoints(connection, after=0, chunk=CHUNK))
    while True:
        rows = await repository.leaves(connection, start=size, chunk=CHUNK)
        for row in rows:
            if row.idx != size:
                check.problem(f"leaf {size} is missing")
                return check
            digest = _leaf_digest(check, row)
            if row.consent_event_id is not None:
                if row.consent_event_id <= last_consent:
                    check.problem(
                        f"leaf {row.idx} holds consent event {row.consent_event_id}, not after {last_consent}"
                    )
                last_consent = row.consent_event_id
            else:
                if row.entry_id <= last_entry:
                    check.problem(f"leaf {row.idx} holds entry {row.entry_id}, not after entry {last_entry}")
                last_entry = row.entry_id
            for level, idx, subtree in merkle.append(size, [digest], frontier):
                if level > 0 and merkle.is_stored(level):
                    subtrees[(level, idx)] = subtree
            size += 1
            frontier = {node: frontier[node] for node in merkle.frontier(size)}
            check.checked += 1
            while checkpoints and checkpoints[0].tree_size == size:
                _check_checkpoint(check, checkpoints.popleft(), merkle.root(size, frontier), public_key)
                if not checkpoints:
                    checkpoints = deque(await repository.checkpoints(connection, after=size, chunk=CHUNK))
        await _check_subtrees(connection, check, subtrees)
        subtrees.clear()
        if len(rows) < CHUNK:
            break
        progress(Step(check.name, check.checked, total, f"sealed log: {check.checked:,} entries rehashed"))
    for leftover in checkpoints:
        check.problem(f"checkpoint of size {leftover.tree_size} is larger than the log ({size} leaves)")
    unsealed = await repository.unsealed_entries(connection)
    message = f"sealed log: {check.checked:,} entries rehashed; {unsealed:,} not sealed yet"
    progress(Step(check.name, max(check.checked, total), max(check.checked, total), message))
    return check


async def _check_subtrees(connection: AsyncConnection, check: Check, subtrees: dict[merkle.Node, bytes]) -> None:
    """Residents' proofs are read from the stored subtrees (sealer.fetch_nodes): each must be there and be
    the hash of its leaves, as the walk rehashed them."""
    stored = await fetch_nodes(connection, set(subtrees))
    for node, rehashed in sorted(subtrees.items()):
        leaves = merkle.leaves_of(node)
        where = f"the subtree at level {node[0]}, index {node[1]} (leaves {leaves[0]}–{leaves[-1]})"
        if node not in stored:
            check.problem(f"{where} is missing: proofs through it cannot be made")
        elif stored[node] != rehashed:
            check.problem(f"{where} is not the hash of its leaves: proofs through it fail")


def _check_checkpoint(check: Check, row: Row[Any], root: bytes, public_key: Ed25519PublicKey) -> None:
    size, stored_root = row.tree_size, bytes(row.root_hash)
    if stored_root != root:
        check.problem(f"checkpoint of size {size} signed a root the entries no longer give")
    try:
        public_key.verify(bytes(row.signature), checkpoint_message(size, stored_root, row.signed_at))
    except InvalidSignature:
        check.problem(f"checkpoint of size {size}: the signature does not verify")


async def verify(db: Database, *, public_key: bytes, progress: Progress = lambda _: None) -> Report:
    """Every check, on one repeatable-read snapshot so that writes going on meanwhile cannot confuse it."""
    async with repository.snapshot(db) as connection:
        checks = [
            await _balances(connection, progress),
            await _issuance(connection, progress),
            await _consent(connection, progress),
            await _log(connection, Ed25519PublicKey.from_public_bytes(public_key), progress),
        ]
    return Report(checks)


def _read(report: Report) -> VerifyRead:
    return VerifyRead(
        ok=report.ok,
        checks=[
            CheckRead(name=c.name, ok=c.ok, checked=c.checked, problems=c.problems, more_problems=c.more)
            for c in report.checks
        ],
    )


async def verification(db: Database, *, public_key: bytes) -> VerifyRead:
    """Every check, as the admin endpoint answers it."""
    return _read(await verify(db, public_key=public_key))


async def verification_lines(db: Database, *, public_key: bytes) -> AsyncIterator[bytes]:
    """Every check as JSON lines: progress as it goes, then the findings (`kind`: progress, result, error).

    The first line is read before this returns, so that a database that cannot be reached is still an
    error reply rather than a stream that breaks off."""
    steps: asyncio.Queue[Step | None] = asyncio.Queue()
    run = asyncio.create_task(verify(db, public_key=public_key, progress=steps.put_nowait))
    run.add_done_callback(lambda _: steps.put_nowait(None))
    try:
        first = await steps.get()
    except BaseException:
        run.cancel()
        raise
    if first is None:
        run.result()  # raises what stopped it

    async def lines() -> AsyncIterator[bytes]:
        step = first
        try:
            while step is not None:
                yield _line(
                    VerifyLine(
                        kind="progress", phase=step.phase, done=step.done, total=step.total, message=step.message
                    )
                )
                step = await steps.get()
            try:
                report = run.result()
            except Exception as exc:
                if not is_database_outage(exc):
                    raise
                yield _line(VerifyLine(kind="error", message="The database stopped answering; run the check again."))
                return
            yield _line(VerifyLine(kind="result", result=_read(report)))
        finally:
            if not run.done():
                run.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await run

    return lines()


def _line(line: VerifyLine) -> bytes:
    return line.model_dump_json(exclude_none=True).encode() + b"\n"
