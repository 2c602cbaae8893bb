"""Record a new agent test fixture: tests/agent/fixtures/<case>/{bundle/, expected.json, README.md}.

Linux, on the machine to record (as the user the agent will run as):

    python tools/capture_fixture.py --case linux-ubuntu-web02

Windows: on the machine, run tools/capture_fixture.ps1 (it runs the collector
and can anonymise the bundle); then on a machine with itaudit:

    python tools/capture_fixture.py --case win10-bkav-endpoint --from-bundle E:\\itaudit-fixture

Names that identify the machine (host name, serials, UUID, MAC addresses)
are replaced in every file with --anonymise, and the manifest's hashes are
recomputed. expected.json is written from what the parsers produce today:
READ IT and correct it by hand against the raw files before committing; a
fixture whose expected facts were never checked proves nothing. README.md
lists every source; fill in where each came from.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "agent" / "fixtures"
CASE = re.compile(r"^[a-z0-9][a-z0-9-]{2,60}$")


def anonymise(bundle: Path, replacements: dict[str, str]) -> None:
    """Replace identifying strings in every file and recompute the manifest hashes."""
    manifest_path = bundle / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8-sig"))
    for name, entry in manifest["sources"].items():
        file = entry.get("file")
        if not file:
            continue
        path = bundle / file
        text = path.read_text(encoding="utf-8-sig")
        for old, new in replacements.items():
            # Whole tokens only: a host called "vm" must not turn "kvm" into "kFIXTURE-PC01".
            token = rf"(?<![A-Za-z0-9]){re.escape(old)}(?![A-Za-z0-9])"
            text = re.sub(token, new, text, flags=re.IGNORECASE)
        data = text.encode("utf-8")
        path.write_bytes(data)
        entry["sha256"] = hashlib.sha256(data).hexdigest()
        manifest["sources"][name] = entry
    if manifest.get("hostname") in replacements:
        manifest["hostname"] = replacements[manifest["hostname"]]
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")


def identifiers(report: dict) -> dict[str, str]:
    ident = report["identity"]
    out: dict[str, str] = {}
    if ident.get("hostname"):
        out[ident["hostname"]] = "FIXTURE-PC01"
    if ident.get("serial"):
        out[ident["serial"]] = "FIXTURESERIAL1"
    if ident.get("hardware_uuid"):
        out[ident["hardware_uuid"]] = "00112233-4455-4677-8899-aabbccddeeff"
    for i, mac in enumerate(ident.get("macs", [])):
        fake = f"02:00:00:00:00:{i + 1:02x}"
        for form in (mac, mac.replace(":", "-"), mac.replace(":", "")):
            out[form] = fake if ":" in form else fake.replace(":", "-" if "-" in form else "")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--case", required=True, help="fixture folder name, e.g. win10-bkav-endpoint"
    )
    parser.add_argument(
        "--from-bundle",
        type=Path,
        help="a bundle folder or zip (Windows); default: record this machine",
    )
    parser.add_argument(
        "--anonymise", action="store_true", help="replace host name, serial, UUID and MACs"
    )
    parser.add_argument(
        "--force", action="store_true", help="replace an existing fixture of that name"
    )
    args = parser.parse_args()
    if not CASE.match(args.case):
        sys.exit("--case: lower-case letters, digits and '-' only")
    target = FIXTURES / args.case
    if target.exists() and not args.force:
        sys.exit(f"{target} exists (use --force to replace it)")

    sys.path.insert(0, str(REPO))
    from itaudit.agent.catalog import load_catalog
    from itaudit.agent.collect import parse_bundle

    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp) / "bundle"
        if args.from_bundle:
            src = args.from_bundle
            if src.is_dir():
                shutil.copytree(src, bundle)
            else:
                shutil.unpack_archive(str(src), str(bundle))
                inner = [p for p in bundle.iterdir() if p.is_dir()]
                if not (bundle / "manifest.json").exists() and len(inner) == 1:
                    bundle = inner[0]
        else:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "itaudit",
                    "agent",
                    "collect",
                    "--no-sign",
                    "--save-bundle",
                    str(bundle),
                    "--out",
                    str(Path(tmp) / "r.json"),
                ],
                check=True,
                cwd=REPO,
            )
        catalog = load_catalog()
        if args.anonymise:
            anonymise(bundle, identifiers(parse_bundle(bundle, catalog)))
        report = parse_bundle(bundle, catalog, collector="fixture")
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(bundle, target / "bundle")

    expected = {
        k: report[k]
        for k in ("platform", "identity", "os", "hardware", "network", "security", "patches")
    }
    expected["errors"] = [{"probe": e["probe"], "kind": e["kind"]} for e in report["errors"]]
    expected["software_count"] = len(report["software"])
    (target / "expected.json").write_text(
        json.dumps(expected, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    manifest = json.loads((target / "bundle" / "manifest.json").read_text(encoding="utf-8-sig"))
    lines = [
        f"# {args.case}",
        "",
        "TODO: what this machine is and why it is a case.",
        "",
        "Recorded on a real machine with tools/capture_fixture.py"
        + (" (anonymised)." if args.anonymise else "."),
        "",
        "| source | what | status |",
        "| --- | --- | --- |",
    ]
    for name, entry in manifest["sources"].items():
        lines.append(
            f"| `{name}` | {entry.get('kind')} `{entry.get('target')}` | {entry.get('status')} |"
        )
    (target / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {target}: now check expected.json against the raw files, and fill in README.md")


if __name__ == "__main__":
    main()
