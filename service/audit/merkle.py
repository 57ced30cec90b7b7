"""The Merkle tree behind receipts (RFC 6962), kept as its perfect subtrees.

Leaf i is ledger entry number i in sealing order. A perfect subtree (level, idx) covers leaves
idx·2^level … (idx+1)·2^level − 1, level 0 being the leaves. Any range a proof needs is either such a
subtree or splits, as RFC 6962 splits trees, into a few of them; so proofs and roots for any tree size
are computed from perfect subtrees.

`ledger_seal_node` holds every leaf and every perfect subtree of STORED_FROM levels or more that the log
has completed. The subtrees in between (2 to 2^(STORED_FROM−1) leaves) are hashed again from their
leaves when a proof or the sealer's frontier needs one, from at most 2^(STORED_FROM−1) leaves. They are
seven in eight of the subtrees above the leaves: storing them would cost the sealer a row and an index
entry for nearly every entry it seals. Where the table holds rows of those levels, they agree with their
leaves and nothing reads them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from service.audit.receipt_verifier import node_hash

Range = tuple[int, int]  # leaves [start, end)
Node = tuple[int, int]  # (level, idx)

STORED_FROM = 4


def is_stored(level: int) -> bool:
    """Whether the sealer writes the subtrees of this level (see the module's docstring)."""
    return level == 0 or level >= STORED_FROM


def leaves_of(node: Node) -> range:
    level, idx = node
    return range(idx << level, (idx + 1) << level)


def split(n: int) -> int:
    """The largest power of two below n (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _perfect(start: int, end: int) -> Node | None:
    size = end - start
    if size & (size - 1) == 0 and start % size == 0:
        level = size.bit_length() - 1
        return level, start >> level
    return None


def inclusion_ranges(index: int, start: int, end: int) -> list[Range]:
    """PATH(index, D[start:end]): the ranges whose hashes prove leaf `index`, from the leaf up."""
    if end - start <= 1:
        return []
    middle = start + split(end - start)
    if index < middle:
        return [*inclusion_ranges(index, start, middle), (middle, end)]
    return [*inclusion_ranges(index, middle, end), (start, middle)]


def consistency_ranges(old_size: int, new_size: int) -> list[Range]:
    """PROOF(old_size, D[new_size]) of RFC 6962 §2.1.2, as ranges."""

    def subproof(m: int, start: int, end: int, whole: bool) -> list[Range]:
        n = end - start
        if m == n:
            return [] if whole else [(start, end)]
        middle = split(n)
        if m <= middle:
            return [*subproof(m, start, start + middle, whole), (start + middle, end)]
        return [*subproof(m - middle, start + middle, end, False), (start, start + middle)]

    return subproof(old_size, 0, new_size, True)


def nodes_for(ranges: Iterable[Range]) -> set[Node]:
    """The stored subtrees the ranges' hashes are made of."""
    needed: set[Node] = set()
    for start, end in ranges:
        node = _perfect(start, end)
        if node is not None:
            needed.add(node)
        else:
            middle = start + split(end - start)
            needed |= nodes_for([(start, middle), (middle, end)])
    return needed


def range_hash(start: int, end: int, nodes: Mapping[Node, bytes]) -> bytes:
    node = _perfect(start, end)
    if node is not None:
        return nodes[node]
    middle = start + split(end - start)
    return node_hash(range_hash(start, middle, nodes), range_hash(middle, end, nodes))


def frontier(size: int) -> list[Node]:
    """The perfect subtrees a tree of `size` leaves is made of, left to right (its binary digits)."""
    nodes: list[Node] = []
    start = 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            nodes.append((level, start >> level))
            start += 1 << level
    return nodes


def root(size: int, nodes: Mapping[Node, bytes]) -> bytes:
    return range_hash(0, size, nodes)


def subtree_hash(leaf_hashes: list[bytes]) -> bytes:
    """The hash of a perfect subtree from its leaves' hashes: the root of a tree of just those leaves."""
    nodes: dict[Node, bytes] = {}
    append(0, leaf_hashes, nodes)
    return root(len(leaf_hashes), nodes)


def append(size: int, leaf_hashes: Iterable[bytes], known: dict[Node, bytes]) -> list[tuple[int, int, bytes]]:
    """Append leaves to a tree of `size` whose frontier is in `known`; returns the new nodes (level, idx,
    hash), leaves included, and adds them to `known`."""
    written: list[tuple[int, int, bytes]] = []
    for offset, digest in enumerate(leaf_hashes):
        level, idx, current = 0, size + offset, digest
        known[(level, idx)] = current
        written.append((level, idx, current))
        while idx & 1:
            current = node_hash(known[(level, idx - 1)], current)
            level, idx = level + 1, idx >> 1
            known[(level, idx)] = current
            written.append((level, idx, current))
    return written
