"""Linux host firewall: what the kernel filters, not what a front end says.

In order, the first that can say decides:
1. ufw, when it is enabled (`ufw status verbose` as root, else its
   world-readable `/etc/ufw/ufw.conf` and `/etc/default/ufw`);
2. the loaded nftables ruleset (`nft -j list ruleset`, root);
3. the loaded iptables rules (`iptables-save`, root; on Debian 12 it shows the
   nftables-backed tables too);
4. without those tools: `/proc/net/ip_tables_names` empty and no `nf_tables`
   in `/proc/modules` means no rules are loaded at all;
5. otherwise the loaded rules could not be checked (an error naming the saved
   ruleset, which is never taken for the loaded one).

A firewall with no rule in its input chains and every policy ACCEPT filters
nothing: it is reported as a profile that is not enabled, so the firewall
rules fail instead of passing or being unknown.
"""

from __future__ import annotations

import json
from typing import Any

from itaudit.agent.context import Result, Status
from itaudit.agent.probes.base import ProbeRun
from itaudit.agent.probes.linux.os import parse_os_release


def _ufw_action(word: str) -> str:
    word = word.strip().strip('"').lower()
    if word in ("deny", "reject", "drop"):
        return "block"
    if word in ("allow", "accept"):
        return "allow"
    return "unknown"


def parse_ufw_status(content: str) -> dict[str, Any] | None:
    """`ufw status verbose` (run with LC_ALL=C)."""
    enabled = None
    inbound = outbound = None
    for line in content.splitlines():
        low = line.strip().lower()
        if low.startswith("status:"):
            enabled = low.split(":", 1)[1].strip() == "active"
        elif low.startswith("default:"):
            for part in low.split(":", 1)[1].split(","):
                words = part.split()
                if len(words) >= 2:
                    action = _ufw_action(words[0])
                    if "(incoming)" in words[1]:
                        inbound = action
                    elif "(outgoing)" in words[1]:
                        outbound = action
    if enabled is None:
        return None
    return {
        "name": "ufw",
        "enabled": enabled,
        "default_inbound": inbound,
        "default_outbound": outbound,
    }


def parse_ufw_files(ufw_conf: str, defaults: str | None) -> dict[str, Any]:
    conf = parse_os_release(ufw_conf)
    d = parse_os_release(defaults or "")
    return {
        "name": "ufw",
        "enabled": conf.get("ENABLED", "").lower() == "yes",
        "default_inbound": _ufw_action(d["DEFAULT_INPUT_POLICY"])
        if "DEFAULT_INPUT_POLICY" in d
        else None,
        "default_outbound": _ufw_action(d["DEFAULT_OUTPUT_POLICY"])
        if "DEFAULT_OUTPUT_POLICY" in d
        else None,
    }


def _profile(name: str, policies: dict[str, list[str]], rules: int) -> dict[str, Any]:
    inbound = policies["input"]
    # Several tables may hook input: a packet must pass all of them, so one drop blocks.
    blocks = any(p in ("drop", "reject") for p in inbound)
    return {
        "name": name,
        # Nothing filters when no input chain drops by default and none holds a rule.
        "enabled": blocks or rules > 0,
        "default_inbound": "block" if blocks else "allow",
        "default_outbound": "block"
        if any(p in ("drop", "reject") for p in policies["output"])
        else "allow",
        "rules": rules,
    }


def parse_nft(content: str) -> dict[str, Any]:
    """Input/output base chains of `nft -j list ruleset` and the rules in the input chains."""
    data = json.loads(content)
    items = data.get("nftables", []) if isinstance(data, dict) else []
    policies: dict[str, list[str]] = {"input": [], "output": []}
    input_chains = set()
    for item in items:
        chain = item.get("chain") if isinstance(item, dict) else None
        if (
            isinstance(chain, dict)
            and chain.get("hook") in policies
            and chain.get("type") == "filter"
        ):
            policies[chain["hook"]].append(str(chain.get("policy", "accept")).lower())
            if chain["hook"] == "input":
                input_chains.add((chain.get("family"), chain.get("table"), chain.get("name")))
    rules = 0
    for item in items:
        rule = item.get("rule") if isinstance(item, dict) else None
        if isinstance(rule, dict) and (
            rule.get("family"),
            rule.get("table"),
            rule.get("chain"),
        ) in (input_chains):
            rules += 1
    return _profile("nftables", policies, rules)


def parse_iptables_save(content: str) -> dict[str, Any]:
    """`iptables-save`: the filter table's INPUT/OUTPUT policies and INPUT rules."""
    policies: dict[str, list[str]] = {"input": [], "output": []}
    rules = 0
    table = None
    for raw in content.splitlines():
        line = raw.strip()
        if line.startswith("*"):
            table = line[1:]
        elif table == "filter" and line.startswith(":"):
            words = line[1:].split()
            if len(words) >= 2 and words[0] in ("INPUT", "OUTPUT"):
                policies[words[0].lower()].append(words[1].lower())
        elif table == "filter" and line.startswith("-A INPUT "):
            rules += 1
    if not policies["input"]:
        policies["input"].append("accept")  # no filter table loaded: the kernel accepts
    return _profile("iptables", policies, rules)


def no_rules_loaded(ip_tables_names: str, modules: str) -> bool:
    """True when the kernel holds no iptables table and no nftables module."""
    if ip_tables_names.strip():
        return False
    return not any(line.split(" ", 1)[0] == "nf_tables" for line in modules.splitlines())


def _disabled(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "enabled": False,
        "default_inbound": "allow",
        "default_outbound": "allow",
        "rules": 0,
    }


def read_firewall(run: ProbeRun) -> dict[str, Any] | None:
    ctx = run.ctx
    conf = ctx.read_text("ufw-conf", "/etc/ufw/ufw.conf")
    if conf.ok:
        profile = None
        if ctx.elevated:
            status = ctx.run("ufw-status", ["ufw", "status", "verbose"])
            profile = parse_ufw_status(status.value) if status.ok else None
            if profile is None:
                run.failed(status)
        if profile is None:
            defaults = ctx.read_text("ufw-defaults", "/etc/default/ufw")
            profile = parse_ufw_files(conf.value, defaults.value if defaults.ok else None)
        if profile["enabled"]:
            return {"product": "ufw", "source": "ufw", "profiles": [profile]}
        # ufw is off, but rules may be loaded by something else (nftables.service, firewalld).
    nft = ctx.run("nft-ruleset", ["nft", "-j", "list", "ruleset"])
    if nft.ok:
        try:
            return {
                "product": "nftables",
                "source": "nft -j list ruleset",
                "profiles": [parse_nft(nft.value)],
            }
        except (ValueError, AttributeError):
            run.error("unparsed", "nft -j list ruleset did not print the expected JSON")
            return None
    ipt = ctx.run("iptables-save", ["iptables-save"])
    if ipt.ok:
        return {
            "product": "iptables",
            "source": "iptables-save",
            "profiles": [parse_iptables_save(ipt.value)],
        }
    names = ctx.read_text("ip-tables-names", "/proc/net/ip_tables_names")
    modules = ctx.read_text("proc-modules", "/proc/modules")
    if names.ok and modules.ok and no_rules_loaded(names.value, modules.value):
        return {
            "product": "none",
            "source": "/proc/net/ip_tables_names, /proc/modules",
            "profiles": [_disabled("kernel")],
        }
    _unknown(run, nft, ipt, names, modules)
    return None


def _unknown(run: ProbeRun, nft: Result, ipt: Result, names: Result, modules: Result) -> None:
    """Say why the loaded rules could not be read, and what the saved ruleset holds."""
    why = []
    for res, tool in ((nft, "nft"), (ipt, "iptables-save")):
        if res.status is Status.ABSENT:
            why.append(f"{tool} is not installed")
        elif res.status is Status.FAILED and "permitted" in res.message.lower():
            why.append(f"{tool} needs root")
        else:
            why.append(f"{tool}: {res.message or res.status.value}")
    if names.ok and names.value.strip():
        why.append(f"iptables tables are loaded ({' '.join(names.value.split())})")
    elif not modules.ok:
        why.append("the kernel lists no modules (/proc/modules), so nftables may be built in")
    elif names.ok:
        why.append("the nf_tables module is loaded")
    saved = [
        path
        for source, path in (
            ("nftables-conf", "/etc/nftables.conf"),
            ("iptables-rules-v4", "/etc/iptables/rules.v4"),
        )
        if run.ctx.read_text(source, path).ok
    ]
    if saved:
        why.append(
            f"a saved ruleset exists ({', '.join(saved)}) but whether it is loaded is unknown"
        )
    kind = "denied" if any("needs root" in w for w in why) else "absent"
    run.error(kind, "the loaded firewall rules could not be checked: " + "; ".join(why))
