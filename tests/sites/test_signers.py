"""The test vector of the site-codes guide is what every signer writes: the service's `sign`, the
`tanpuhui sites sign` command and the kiosk page's JavaScript (run by Node.js); the service reads it back
and its key verifies it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from service import cli
from service.sites import codes, keypairs
from tests.docs.test_guides import fences, guide_path, read, table_rows

ROOT = Path(__file__).resolve().parents[2]
KIOSK_SIGNER = ROOT / "docs" / "sites" / "kiosk-signer.mjs"
VECTOR_ITEMS = {
    "private_key",
    "public_key",
    "site_id",
    "key_number",
    "window_start",
    "window_minutes",
    "window_start_minutes",
    "header",
    "signature",
    "code",
    "digest",
}


def vector(language: str) -> dict[str, str]:
    """The test vector's table: item name (in backticks in the first cell) → value (the last cell)."""
    found: dict[str, str] = {}
    for row in table_rows(read(guide_path(language, "site-codes.md"))):
        name = re.search(r"`([a-z_]+)`\s*$", row[0])
        value = re.fullmatch(r"`([^`]*)`", row[-1])
        if name is not None and value is not None and name.group(1) in VECTOR_ITEMS:
            assert name.group(1) not in found, f"{name.group(1)} is in the vector twice"
            found[name.group(1)] = value.group(1)
    assert set(found) == VECTOR_ITEMS, f"{language}: the vector lacks {VECTOR_ITEMS - set(found)}"
    return found


def test_both_languages_show_the_same_vector() -> None:
    assert vector("zh-CN") == vector("en")


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_the_vector_is_what_the_service_signs_and_it_reads_back_and_verifies(language: str) -> None:
    shown = vector(language)
    seed = keypairs.decode(shown["private_key"])
    start = datetime.fromisoformat(shown["window_start"])
    minutes = int(shown["window_minutes"])

    signed = codes.sign(seed, int(shown["site_id"]), int(shown["key_number"]), start, minutes)
    code = codes.parse(shown["code"])

    assert signed == shown["code"]
    assert keypairs.encode(keypairs.public_key_of(seed)) == shown["public_key"]
    assert (code.site_id, code.key_number) == (int(shown["site_id"]), int(shown["key_number"]))
    assert (code.window_start, code.window_end) == (start, start + timedelta(minutes=minutes))
    assert (start - codes.EPOCH) // codes.MINUTE == int(shown["window_start_minutes"])
    assert code.signed_bytes == codes.SIGNING_CONTEXT + bytes.fromhex(shown["header"])
    assert code.signature.hex() == shown["signature"]
    assert code.digest == shown["digest"]
    Ed25519PublicKey.from_public_bytes(keypairs.decode(shown["public_key"])).verify(code.signature, code.signed_bytes)
    texts = [fence.text for fence in fences(read(guide_path(language, "site-codes.md"))) if fence.info == "text"]
    assert texts == [
        " | ".join(" ".join(f"{b:02x}" for b in part) for part in _fields(bytes.fromhex(shown["header"]))),
        code.signed_bytes.hex(),
    ]


def _fields(header: bytes) -> list[bytes]:
    return [header[0:1], header[1:5], header[5:6], header[6:10], header[10:11]]


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_the_example_reply_holds_a_matching_key_pair(language: str) -> None:
    (reply,) = [
        json.loads(f.text)
        for f in fences(read(guide_path(language, "site-codes.md")))
        if f.info == "json" and '"private_key"' in f.text
    ]
    seed = keypairs.decode(reply["private_key"])
    assert reply["site"]["keys"][0]["public_key"] == keypairs.encode(keypairs.public_key_of(seed))


def test_the_command_line_signs_the_vector_and_makes_pairs_that_sign(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shown = vector("en")
    key_file = tmp_path / "site.key"
    key_file.write_text(shown["private_key"] + "\n", encoding="utf-8")
    # any moment inside the window signs the same code
    at = (datetime.fromisoformat(shown["window_start"]) + timedelta(seconds=41)).isoformat()
    site = ["--site-id", shown["site_id"], "--key-number", shown["key_number"], "--private-key-file", str(key_file)]

    cli.main(["sites", "sign", *site, "--at", at])
    assert capsys.readouterr().out.strip() == shown["code"]

    cli.main(["sites", "keygen"])
    printed = dict(line.split(":") for line in capsys.readouterr().out.replace(" ", "").splitlines())
    seed = keypairs.decode(printed["private_key"])
    assert keypairs.encode(keypairs.public_key_of(seed)) == printed["public_key"]

    with pytest.raises(SystemExit) as refused:
        cli.main(["sites", "sign", *site, "--at", "2026-12-06T08:30:00"])
    assert refused.value.code == 2
    assert "UTC offset" in capsys.readouterr().err


NODE_RUNNER = """
import { importSiteKey, siteCode } from "%s";
const cases = JSON.parse(process.argv[1]);
const texts = [];
for (const c of cases) {
  const key = await importSiteKey(c.private_key, c.public_key);
  texts.push(await siteCode(key, { siteId: c.site_id, keyNumber: c.key_number, windowMinutes: c.window_minutes, at: new Date(c.at) }));
}
console.log(JSON.stringify(texts));
"""


def test_the_kiosk_page_signer_writes_what_the_service_writes() -> None:
    shown = vector("en")
    node = shutil.which("node")
    assert node is not None, "Node.js runs the kiosk signer's test"
    start = datetime.fromisoformat(shown["window_start"])
    seed, public = keypairs.decode(shown["private_key"]), shown["public_key"]
    other_seed, other_public = keypairs.generate()
    cases = [
        (seed, public, int(shown["site_id"]), int(shown["key_number"]), 1, start + timedelta(seconds=41)),
        (other_seed, keypairs.encode(other_public), 2**32 - 1, 255, 10, start + timedelta(minutes=7, seconds=59)),
        (other_seed, keypairs.encode(other_public), 1, 1, 7, datetime.fromisoformat("2106-02-07T06:00:00Z")),
    ]
    sent = [
        {
            "private_key": keypairs.encode(s),
            "public_key": p,
            "site_id": site_id,
            "key_number": number,
            "window_minutes": window,
            "at": at.isoformat(),
        }
        for s, p, site_id, number, window, at in cases
    ]

    result = subprocess.run(  # noqa: S603
        [node, "--input-type=module", "-e", NODE_RUNNER % KIOSK_SIGNER.as_uri(), json.dumps(sent)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    written = json.loads(result.stdout)
    assert written[0] == shown["code"]
    assert written == [
        codes.sign(s, site_id, number, codes.window_start_for(at, window), window)
        for s, _, site_id, number, window, at in cases
    ]
