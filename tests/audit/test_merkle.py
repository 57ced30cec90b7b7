"""The tree and the standalone verifier against RFC 6962's definitions: every root, inclusion proof and
consistency proof for trees of 1 to 33 leaves, tampered proofs refused, Ed25519 checked against a real
implementation, and the verifier importing nothing but the standard library."""

from __future__ import annotations

import ast
import hashlib
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from service.audit import merkle
from service.audit import receipt_verifier as rv

SIZES = range(1, 34)


def _leaves(n: int) -> list[bytes]:
    return [rv.leaf_hash(f"leaf {i}".encode()) for i in range(n)]


def _mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 §2.1, straight from its definition."""
    if len(leaves) == 1:
        return leaves[0]
    k = merkle.split(len(leaves))
    return rv.node_hash(_mth(leaves[:k]), _mth(leaves[k:]))


def _tree(n: int, *, batches: int = 3) -> dict[merkle.Node, bytes]:
    """A tree of n leaves appended in a few batches, as the sealer appends them."""
    known: dict[merkle.Node, bytes] = {}
    leaves, size = _leaves(n), 0
    step = max(1, n // batches)
    while size < n:
        chunk = leaves[size : size + step]
        frontier = {node: known[node] for node in merkle.frontier(size)}  # all the sealer loads
        known |= frontier | {(w[0], w[1]): w[2] for w in merkle.append(size, chunk, frontier)}
        size += len(chunk)
    return known


def _proof(ranges: list[merkle.Range], nodes: dict[merkle.Node, bytes]) -> list[bytes]:
    return [merkle.range_hash(start, end, nodes) for start, end in ranges]


def test_roots_match_the_definition_for_every_size() -> None:
    for n in SIZES:
        nodes = _tree(n)
        assert merkle.root(n, nodes) == _mth(_leaves(n)), n
        assert set(merkle.frontier(n)) <= set(nodes)


def test_every_inclusion_proof_verifies_and_a_tampered_one_does_not() -> None:
    for n in SIZES:
        nodes, leaves = _tree(n), _leaves(n)
        root = merkle.root(n, nodes)
        for index in range(n):
            proof = _proof(merkle.inclusion_ranges(index, 0, n), nodes)
            assert rv.root_from_inclusion(index, n, leaves[index], proof) == root
            other = leaves[(index + 1) % n]
            if n > 1:
                assert rv.root_from_inclusion(index, n, other, proof) != root
            for position in range(len(proof)):
                forged = [*proof]
                forged[position] = hashlib.sha256(forged[position]).digest()
                assert rv.root_from_inclusion(index, n, leaves[index], forged) != root
            assert rv.root_from_inclusion(index, n, leaves[index], [*proof, root]) != root
        assert rv.root_from_inclusion(n, n, leaves[0], []) is None


def test_every_consistency_proof_verifies_and_rewritten_history_does_not() -> None:
    for second in SIZES:
        nodes = _tree(second)
        root2 = merkle.root(second, nodes)
        for first in range(1, second + 1):
            root1 = _mth(_leaves(first))
            proof = _proof(merkle.consistency_ranges(first, second), nodes)
            assert rv.consistent(first, second, root1, root2, proof), (first, second)
            # the same later tree with one earlier leaf changed: a history rewritten under the checkpoint
            rewritten = _leaves(second)
            rewritten[first - 1] = rv.leaf_hash(b"changed")
            assert not rv.consistent(first, second, root1, _mth(rewritten), proof)
            if proof:
                assert not rv.consistent(first, second, root1, root2, proof[:-1])


def test_the_pure_ed25519_check_agrees_with_a_real_implementation() -> None:
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    for message in (b"", b"tanpuhui checkpoint v1\n1\n", bytes(range(200))):
        signature = key.sign(message)
        assert rv.ed25519_verify(public, message, signature)
        assert not rv.ed25519_verify(public, message + b"!", signature)
        assert not rv.ed25519_verify(public, message, signature[:-1] + bytes([signature[-1] ^ 1]))
        other = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        assert not rv.ed25519_verify(other, message, signature)


def test_the_verifier_imports_only_the_standard_library() -> None:
    source = Path(rv.__file__).read_text(encoding="utf-8")
    imported: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported
