"""The content hash behind idempotency: a retry is answered with the original result only while its hash
equals the stored one, so the bytes hashed must never change between releases. A report stored by an
earlier release and retried after an upgrade would otherwise be refused as DUPLICATE_CONFLICT."""

from __future__ import annotations

from typing import Any

from service.ingest import batches, reports
from service.ingest.schemas import BehaviourCreate, PartnerRecord

WASTE: dict[str, Any] = {
    "client_id": "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
    "type": "waste_sorting",
    "occurred_at": "2026-11-23T08:05:00+08:00",
    "quantity": "2.50",
    "unit": "kg",
    "category": "recyclables",
    "evidence": {
        "station_qr": "JN-RECYCLE-0042",
        "photo_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    },
}
METRO: dict[str, Any] = {
    "client_id": "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
    "type": "metro_ride",
    "occurred_at": "2026-11-23T00:05:00Z",
    "ended_at": "2026-11-23T08:32:00+08:00",
    "quantity": "12",
}
HYDROGEN: dict[str, Any] = {
    "external_id": "h2-20261123-000017",
    "pseudonym": "psn_7kq2m9xw4c8rj3tn6v5bh1yd0f",
    "type": "hydrogen_bus_ride",
    "occurred_at": "2026-11-23T07:40:00+08:00",
    "quantity": "8.4",
    "hydrogen_source": "renewable",
}


def _resident(body: dict[str, Any]) -> str:
    report = BehaviourCreate.model_validate(body)
    return reports.resident_content_hash(report, reports.resident_evidence(report))


def _partner(body: dict[str, Any]) -> str:
    return batches.partner_content_hash(PartnerRecord.model_validate(body))


def test_hashes_of_stored_reports_never_change() -> None:
    assert _resident(WASTE) == "2761f676c7384d733add1131d23ee0b613f29b1c82b129645df6203263742fb8"
    assert _resident(METRO) == "3388c0c09e1ffd7b047e085f66794dfe5558db7d993515b9f485a852d4263ffa"
    # partner records name their resident by pseudonym from revision 0033_partner_links on: one stored
    # before it and sent again (now with a pseudonym) answers DUPLICATE_CONFLICT, and credits nothing twice
    assert _partner(HYDROGEN) == "c0b87147b22f74f29c993cba12ab85d5980a91bc7f420759c01a8d222f02fc50"


def test_the_same_facts_written_differently_hash_alike_and_other_facts_do_not() -> None:
    respelled = {**WASTE, "quantity": "2.5", "occurred_at": "2026-11-23T00:05:00+00:00"}
    assert _resident(respelled) == _resident(WASTE)
    assert _resident({**WASTE, "quantity": "2.6"}) != _resident(WASTE)
    assert _resident({**WASTE, "evidence": {"station_qr": "JN-RECYCLE-0042"}}) != _resident(WASTE)
    assert _partner({**HYDROGEN, "hydrogen_source": "coal"}) != _partner(HYDROGEN)
    assert _partner({**HYDROGEN, "pseudonym": "psn_7kq2m9xw4c8rj3tn6v5bh1yd0g"}) != _partner(HYDROGEN)
