"""A resident's evidence, checked: what it proves decides the trust tier, never what was merely sent.

A report may carry the codes of registered sites (service/sites), scanned where the behaviour started and,
for a ride, where it ended, and a photo the resident uploaded (service/photos). Codes are checked here in
memory, with no database read: the signature and the site by the site cache, then against the behaviour
type's evidence rule in its factor version (the kinds of site that fit it, the codes it needs, how far its
sites make the reported distance plausible) and against the report's own times. A report whose codes pass
earns the evidence tier at once; a report backed only by a photo waits for an operator, who looks at the
photo. Anything else is a self-report. The recording function refuses a second report naming the same
code (for the same resident) or the same photo (for anyone): `claims` are their digests.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from service.factors.model import CodeRole, EvidenceRule
from service.ingest.errors import (
    EvidenceNotAccepted,
    SiteCodeExpired,
    SiteCodeMissing,
    SiteCodeWindow,
    SiteDistanceImplausible,
    SiteKindMismatch,
)
from service.ingest.schemas import Evidence, VerifiedEvidence
from service.photos.service import PhotoRef
from service.sites.cache import CheckedCode, SiteCache
from service.sites.errors import SiteCodeMalformed, SiteCodeSignature, SiteCodeUnknown, SiteInactive
from service.sites.geo import distance_km

# What the site cache refuses a code for: not a code, no such site or key, a forged signature, a site or
# key not valid when the code was shown.
SITE_CODE_REFUSALS = (SiteCodeMalformed, SiteCodeUnknown, SiteCodeSignature, SiteInactive)

# How far a behaviour's reported start (or end) may lie outside the window of the code scanned there:
# phones' clocks drift, and a gate is a walk from the platform.
CODE_TIME_TOLERANCE = timedelta(minutes=5)
# How long after its window a code may still be sent: a phone offline in a tunnel, or out of signal until
# the next day, sends it later. A code older than this is refused: codes are not kept to be used later.
CODE_SUBMIT_WITHIN = timedelta(hours=48)
# Added to the straight line between two sites before the type's detour factor: a station's entrances
# lie apart from its centre.
SITE_ALLOWANCE_KM = Decimal("0.5")


@dataclass(frozen=True, slots=True)
class Checked:
    """What a report's evidence proved. `tier` is "evidence" when a code or a photo backs it, else "self";
    `hold` when only a photo backs it, for an operator to look at; `stored` is the evidence as the
    behaviour keeps it; `claims`, the digests no other report may name again."""

    tier: str
    hold: bool
    stored: dict[str, object] | None
    claims: list[str]
    codes: tuple[CheckedCode, ...] = ()


SELF_REPORT = Checked(tier="self", hold=False, stored=None, claims=[])


def sent(evidence: Evidence | None) -> bool:
    """Whether a report carries any evidence at all."""
    return evidence is not None and (
        evidence.start_code is not None or evidence.end_code is not None or evidence.photo_id is not None
    )


def check_codes(
    evidence: Evidence,
    *,
    rule: EvidenceRule | None,
    sites: SiteCache,
    occurred_at: datetime,
    ended_at: datetime | None,
    now: datetime,
) -> tuple[CheckedCode, ...]:
    """The report's site codes, each checked: none when it sends none; raises the check that failed."""
    texts = {CodeRole.start: evidence.start_code, CodeRole.end: evidence.end_code}
    if all(text is None for text in texts.values()):
        return ()
    needed = rule.codes if rule is not None else []
    for role, text in texts.items():
        if text is not None and role not in needed:
            raise EvidenceNotAccepted(errors=[_field(role, EvidenceNotAccepted.code, "this type takes no such code")])
    assert rule is not None
    checked = []
    # Each code sent is checked before any missing one is named: a forged code is the finding that counts.
    for role in needed:
        text = texts[role]
        if text is None:
            continue
        try:
            code = sites.check(text)
        except SITE_CODE_REFUSALS as refused:
            refused.errors = [_field(role, refused.code, refused.detail_en)]
            raise
        if code.kind not in rule.sites:
            kinds = ", ".join(kind.value for kind in rule.sites)
            raise SiteKindMismatch(errors=[_field(role, SiteKindMismatch.code, f"a {code.kind} code; takes {kinds}")])
        when = occurred_at if role is CodeRole.start else ended_at
        if when is None:
            raise SiteCodeWindow(errors=[_field(role, SiteCodeWindow.code, "send ended_at with an end code")])
        if not code.window_start - CODE_TIME_TOLERANCE <= when <= code.window_end + CODE_TIME_TOLERANCE:
            raise SiteCodeWindow(errors=[_field(role, SiteCodeWindow.code, "shown at another time than reported")])
        if now > code.window_end + CODE_SUBMIT_WITHIN:
            raise SiteCodeExpired(errors=[_field(role, SiteCodeExpired.code, "shown over two days ago")])
        checked.append(code)
    for role in needed:
        if texts[role] is None:
            raise SiteCodeMissing(errors=[_field(role, SiteCodeMissing.code, "this type needs this code")])
    return tuple(checked)


def check_distance(codes: tuple[CheckedCode, ...], *, rule: EvidenceRule | None, quantity: Decimal) -> None:
    """With a start and an end code, the reported distance (in the factor's unit, km) must be one the
    two sites' positions make plausible."""
    if rule is None or rule.max_detour is None or len(codes) != 2:
        return
    start, end = codes
    straight = Decimal(str(round(distance_km((start.latitude, start.longitude), (end.latitude, end.longitude)), 3)))
    longest = straight * rule.max_detour + SITE_ALLOWANCE_KM
    if quantity > longest:
        raise SiteDistanceImplausible(
            f"The sites are {straight} km apart: at most {longest} km is plausible.",
            f"两站相距 {straight} 公里：合理距离至多 {longest} 公里。",
            errors=[_field(CodeRole.end, SiteDistanceImplausible.code, f"at most {longest} km")],
        )


def checked(
    codes: tuple[CheckedCode, ...], photo: PhotoRef | None, *, rule: EvidenceRule | None, resident_id: int
) -> Checked:
    """The tier, the hold and the stored evidence of checked codes and a resident's own photo (one the
    type's rule allows: `require_photo_allowed`)."""
    if not codes and photo is None:
        return SELF_REPORT
    stored: dict[str, object] = {}
    claims = []
    if codes:
        stored["site_codes"] = [
            {
                "role": role.value,
                "site_id": code.site_id,
                "site": code.site_code,
                "shown_at": code.window_start.isoformat(),
            }
            for role, code in zip((CodeRole.start, CodeRole.end), codes, strict=False)
        ]
        claims += [_claim(f"site-code:{resident_id}:{code.digest}") for code in codes]
    if photo is not None:
        stored["photo"] = {"photo_id": str(photo.photo_id), "sha256": photo.sha256}
        claims.append(_claim(f"photo:{photo.sha256}"))
    return Checked(tier="evidence", hold=not codes, stored=stored, claims=claims, codes=codes)


def require_photo_allowed(rule: EvidenceRule | None) -> None:
    """A photo may back a report only of a type whose rule says so."""
    if rule is None or not rule.photo:
        raise EvidenceNotAccepted(
            errors=[{"field": "evidence.photo_id", "in": "body", "code": EvidenceNotAccepted.code,
                     "message": "this type takes no photo"}]
        )  # fmt: skip


def verified_evidence(source: str, tier: str, status: str, evidence: dict[str, object] | None) -> VerifiedEvidence:
    """Which evidence was verified for a stored behaviour: partner (a signed partner's record), site_code,
    photo (once an operator approved it after looking), or none."""
    if source == "partner":
        return "partner"
    if evidence is None or tier != "evidence":
        return "none"
    if "site_codes" in evidence:
        return "site_code"
    if "photo" in evidence and status in ("credited", "capped"):
        return "photo"
    return "none"


def _claim(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _field(role: CodeRole, code: str, message: str) -> dict[str, str]:
    return {"field": f"evidence.{role.value}_code", "in": "body", "code": code, "message": message}
