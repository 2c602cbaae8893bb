"""Signed Windows bundles: .NET byte formats, the statement, tampering, parse and ingest
through the real CLI."""

from __future__ import annotations

import base64
import hashlib
import json
import struct

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from signedbundle import CASE, p256_key, signed_windows_bundle, windows_bundle

from itaudit.agent.bundle import zip_bundle
from itaudit.agent.collect import parse_bundle
from itaudit.agent.errors import BundleError
from itaudit.signing import (
    SignatureError,
    build_statement,
    ecc_public_blob,
    key_fingerprint,
    key_from_ecc_public_blob,
    parse_statement,
    verify_bundle_report,
    verify_p1363,
)

HOST = "HO-TTR-LT02"  # the host of the fixture CASE


# -- the .NET byte formats, built here from their documented layouts -------------


def dotnet_public_blob(key: ec.EllipticCurvePrivateKey) -> bytes:
    """CngKey.Export(EccPublicBlob) of a P-256 key, from BCRYPT_ECCKEY_BLOB's layout:
    dwMagic = BCRYPT_ECDSA_PUBLIC_P256_MAGIC (0x31534345, "ECS1") and cbKey = 32 as
    little-endian ULONGs, then X[32] and Y[32] big-endian."""
    numbers = key.public_key().public_numbers()
    blob = bytearray()
    blob += bytes([0x45, 0x43, 0x53, 0x31])  # 'E' 'C' 'S' '1'
    blob += bytes([0x20, 0x00, 0x00, 0x00])  # 32
    blob += numbers.x.to_bytes(32, "big")
    blob += numbers.y.to_bytes(32, "big")
    assert bytes(blob[:4]) == struct.pack("<I", 0x31534345)
    return bytes(blob)


def dotnet_signature(key: ec.EllipticCurvePrivateKey, message: bytes) -> bytes:
    """What ECDsaCng.SignData returns: IEEE P1363, r then s, 32 bytes each, big-endian."""
    r, s = decode_dss_signature(key.sign(message, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def test_a_dotnet_public_blob_and_p1363_signature_verify():
    key = p256_key()
    blob = dotnet_public_blob(key)
    assert len(blob) == 72
    assert ecc_public_blob(key.public_key()) == blob
    message = b"itaudit-bundle-statement/1\n"
    signature = dotnet_signature(key, message)
    assert len(signature) == 64
    verify_p1363(blob, signature, message)  # no exception: it holds


def test_a_p1363_signature_of_other_content_or_key_is_refused():
    key, other = p256_key(), p256_key()
    message = b"file 00 a.json\n"
    signature = dotnet_signature(key, message)
    with pytest.raises(SignatureError, match="does not match its statement"):
        verify_p1363(dotnet_public_blob(key), signature, message + b"x")
    with pytest.raises(SignatureError, match="does not match its statement"):
        verify_p1363(dotnet_public_blob(other), signature, message)


def test_a_der_signature_is_not_taken_for_p1363():
    key = p256_key()
    der = key.sign(b"m", ec.ECDSA(hashes.SHA256()))
    with pytest.raises(SignatureError, match="IEEE P1363"):
        verify_p1363(dotnet_public_blob(key), der, b"m")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda b: struct.pack("<I", 0x314B4345) + b[4:], "magic 0x314B4345"),  # ECDH "ECK1"
        (lambda b: b[:4] + struct.pack("<I", 48) + b[8:], "cbKey 48"),
        (lambda b: b[:-1], "71 bytes"),
        (lambda b: b[:40] + bytes(32), "not on the curve|invalid|Invalid"),  # Y = 0
    ],
)
def test_a_malformed_public_blob_is_refused(change, reason):
    blob = change(dotnet_public_blob(p256_key()))
    with pytest.raises(ValueError, match=reason):
        key_from_ecc_public_blob(blob)


# -- the statement ------------------------------------------------------------------


def test_the_statement_has_one_exact_text():
    text = build_statement(
        "PC-01",
        "2026-11-20T02:15:04Z",
        "windows",
        "machine",
        {"manifest.json": "b" * 64, "cim-os.json": "a" * 64},
    )
    assert text == (
        "itaudit-bundle-statement/1\n"
        "hostname PC-01\n"
        "collected_at 2026-11-20T02:15:04Z\n"
        "platform windows\n"
        "key_store machine\n"
        f"file {'a' * 64} cim-os.json\n"
        f"file {'b' * 64} manifest.json\n"
    )
    assert parse_statement(text).files == {"cim-os.json": "a" * 64, "manifest.json": "b" * 64}


@pytest.mark.parametrize(
    "bad",
    [
        "itaudit-bundle-statement/1\nhostname PC\ncollected_at T\nplatform windows\nkey_store machine",
        "itaudit-bundle-statement/1\r\nhostname PC\r\n",
        "itaudit-bundle-statement/1\nhostname PC\ncollected_at T\nplatform windows\nkey_store root\n",
        "itaudit-bundle-statement/1\nhostname PC\ncollected_at T\nplatform windows\nkey_store user\n"
        f"file {'b' * 64} z.json\nfile {'a' * 64} a.json\n",
        "itaudit-bundle-statement/1\nhostname PC\ncollected_at T\nplatform windows\nkey_store user\n"
        f"file {'a' * 64} ../a.json\n",
    ],
    ids=["no final LF", "CRLF", "unknown key store", "files out of order", "unsafe name"],
)
def test_a_statement_that_is_not_canonical_is_refused(bad):
    with pytest.raises(ValueError):
        parse_statement(bad)


# -- bundles: parse verifies against the files ---------------------------------------


def test_a_signed_bundle_gives_a_report_with_the_signature_in_dotnet_formats(tmp_path, catalog):
    key = p256_key()
    bundle = signed_windows_bundle(tmp_path / "b", key, "user")
    report = parse_bundle(bundle, catalog)
    member = report["bundle_signature"]
    assert base64.b64decode(member["public_key"]) == dotnet_public_blob(key)
    assert member["key_store"] == "user"
    statement = parse_statement(member["statement"])
    assert (statement.hostname, statement.key_store) == (HOST, "user")
    # Every file of the bundle but the signature itself, with its SHA-256.
    names = sorted(p.name for p in bundle.iterdir() if p.name != "signature.json")
    assert sorted(statement.files) == names
    assert (
        statement.files["manifest.json"]
        == hashlib.sha256((bundle / "manifest.json").read_bytes()).hexdigest()
    )
    assert member["manifest_digest"] == hashlib.sha256(member["statement"].encode()).hexdigest()
    verified = verify_bundle_report(report)
    assert verified is not None and verified.slot == "user"
    assert verified.fingerprint == key_fingerprint(member["public_key"])


def test_a_signed_zip_bundle_verifies(tmp_path, catalog):
    folder = signed_windows_bundle(tmp_path / "b", p256_key())
    report = parse_bundle(zip_bundle(folder, tmp_path / "b.zip"), catalog)
    assert report["bundle_signature"]["key_store"] == "machine"


def test_an_unsigned_bundle_still_parses_unsigned(tmp_path, catalog):
    report = parse_bundle(windows_bundle(tmp_path / "b"), catalog)
    assert "bundle_signature" not in report


def test_a_source_file_changed_after_signing_is_named(tmp_path, catalog):
    bundle = signed_windows_bundle(tmp_path / "b", p256_key())
    path = bundle / "mp-computerstatus.json"
    path.write_text(path.read_text(encoding="utf-8").replace("false", "true"), encoding="utf-8")
    with pytest.raises(BundleError) as caught:
        parse_bundle(bundle, catalog)
    assert "mp-computerstatus.json: changed after signing" in str(caught.value)


def test_a_manifest_changed_with_its_file_hashes_is_still_caught(tmp_path, catalog):
    # Whoever edits a source and fixes its sha256 in the manifest changes manifest.json.
    bundle = signed_windows_bundle(tmp_path / "b", p256_key())
    path = bundle / "fw-profiles.json"
    data = path.read_bytes().replace(b'"Public","Enabled":1', b'"Public","Enabled":0')
    path.write_bytes(data)
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8-sig"))
    manifest["sources"]["fw-profiles"]["sha256"] = hashlib.sha256(data).hexdigest()
    (bundle / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(BundleError) as caught:
        parse_bundle(bundle, catalog)
    assert "fw-profiles.json: changed after signing" in str(caught.value)
    assert "so are manifest.json" in str(caught.value)


def test_a_signed_file_removed_is_named(tmp_path, catalog):
    bundle = signed_windows_bundle(tmp_path / "b", p256_key())
    (bundle / "cim-os.json").unlink()
    with pytest.raises(BundleError, match=r"cim-os\.json: signed, but missing"):
        parse_bundle(bundle, catalog)


def test_a_signature_replaced_by_another_key_is_refused(tmp_path, catalog):
    bundle = signed_windows_bundle(tmp_path / "b", p256_key())
    doc = json.loads((bundle / "signature.json").read_text(encoding="utf-8"))
    doc["public_key"] = base64.b64encode(dotnet_public_blob(p256_key())).decode()
    (bundle / "signature.json").write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(BundleError, match=r"signature\.json: bundle signature does not match"):
        parse_bundle(bundle, catalog)


def test_a_file_added_after_signing_that_nothing_reads_is_ignored(tmp_path, catalog):
    bundle = signed_windows_bundle(tmp_path / "b", p256_key())
    (bundle / "desktop.ini").write_text("[.ShellClassInfo]\n", encoding="utf-8")
    assert "bundle_signature" in parse_bundle(bundle, catalog)


# -- the report: ingest re-verifies from the report alone ----------------------------


@pytest.fixture
def signed_report(tmp_path, catalog):
    return parse_bundle(signed_windows_bundle(tmp_path / "b", p256_key()), catalog)


def test_a_statement_moved_to_another_hosts_report_is_refused(signed_report):
    signed_report["identity"]["hostname"] = "HO-KT-PC07"
    with pytest.raises(SignatureError, match="names host 'HO-TTR-LT02'"):
        verify_bundle_report(signed_report)


def test_a_report_re_dated_is_refused(signed_report):
    signed_report["collected_at"] = "2026-12-01T00:00:00Z"
    with pytest.raises(SignatureError, match="collected at"):
        verify_bundle_report(signed_report)


def test_a_manifest_digest_that_is_not_the_statements_is_refused(signed_report):
    signed_report["bundle_signature"]["manifest_digest"] = "0" * 64
    with pytest.raises(SignatureError, match="manifest_digest"):
        verify_bundle_report(signed_report)


def test_a_key_store_claimed_other_than_signed_is_refused(signed_report):
    signed_report["bundle_signature"]["key_store"] = "user"
    with pytest.raises(SignatureError, match="key store machine signed"):
        verify_bundle_report(signed_report)


def test_an_edited_statement_is_refused(signed_report):
    member = signed_report["bundle_signature"]
    member["statement"] = member["statement"].replace("key_store machine", "key_store user")
    member["key_store"] = "user"
    member["manifest_digest"] = hashlib.sha256(member["statement"].encode()).hexdigest()
    with pytest.raises(SignatureError, match="does not match its statement"):
        verify_bundle_report(signed_report)


# -- end to end through the real CLI -------------------------------------------------


def test_signed_bundle_parse_ingest_and_hosts_show(tmp_path, workspace, run_cli):
    ws = ("--workspace", str(workspace.root))
    machine = signed_windows_bundle(tmp_path / "machine", p256_key(), "machine")
    res = run_cli("agent", "parse", str(machine), "--out", str(tmp_path / "m.json"), *ws)
    assert res.returncode == 0, res.stderr
    res = run_cli("ingest", str(tmp_path / "m.json"), *ws)
    assert res.returncode == 0, res.output
    shown = run_cli("hosts", "show", HOST, *ws)
    assert shown.returncode == 0, shown.stderr
    assert "by the Windows collector (machine key store" in shown.stdout
    assert "verified at ingest" in shown.stdout

    # The same host run without admin rights: its user key store, a second known key.
    user = signed_windows_bundle(
        tmp_path / "user", p256_key(), "user", collected_at="2024-06-22T08:00:00Z"
    )
    assert (
        run_cli("agent", "parse", str(user), "--out", str(tmp_path / "u.json"), *ws).returncode == 0
    )
    res = run_cli("ingest", str(tmp_path / "u.json"), *ws)
    assert res.returncode == 0, res.output
    assert "second key of this host, its user key store" in res.output

    # A third key, of a store already pinned: refused, and rekey names the way out.
    third = signed_windows_bundle(
        tmp_path / "third", p256_key(), "machine", collected_at="2024-06-23T08:00:00Z"
    )
    assert (
        run_cli("agent", "parse", str(third), "--out", str(tmp_path / "t.json"), *ws).returncode
        == 0
    )
    res = run_cli("ingest", str(tmp_path / "t.json"), *ws)
    assert res.returncode == 1
    assert "was first seen with key" in res.output and f"itaudit hosts rekey {HOST}" in res.output
    res = run_cli("hosts", "rekey", HOST, "--key-store", "machine", "--yes", "--by", "officer", *ws)
    assert res.returncode == 0, res.output
    assert run_cli("ingest", str(tmp_path / "t.json"), *ws).returncode == 0


def test_a_tampered_bundle_is_not_parsed_and_the_file_is_named(tmp_path, workspace, run_cli):
    bundle = signed_windows_bundle(tmp_path / "b", p256_key(), case=CASE)
    (bundle / "bitlocker.json").write_text("[]", encoding="utf-8")
    res = run_cli("agent", "parse", str(bundle), "--workspace", str(workspace.root))
    assert res.returncode == 2
    assert "bitlocker.json: changed after signing" in res.stderr
