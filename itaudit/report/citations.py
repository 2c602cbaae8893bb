"""Citations a reader can look up: the document's number and name, then the clause.

A rule stores its references as framework ids and requirement ids
(`circular-12-2022: ["1.1"]`); those are for the officer and the JSON. People read
"Thông tư 12/2022/TT-BTTTT, Phụ lục I, mục 1.1" or "TCVN 11930:2017, 5.1.1", from
the framework file's `document` and the requirement's `clause`. A requirement not
checked against the published text (`confirmed: false`) carries the catalogue's
"(chưa đối chiếu văn bản gốc)" / "(unconfirmed)" mark; a rule that serves only the
department's own policy (a framework of kind `policy`) is labelled "Quy định của
Sở", never as law; a cross-reference (CIS) is shown apart from the legal basis.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from itaudit.i18n import t
from itaudit.profiles.model import Text

LANGS = ("vi", "en")


def cite(framework: Any | None, fw_id: str, clause: str, lang: str) -> tuple[str, bool]:
    """One citation in words and whether it is confirmed against the published text.

    Without the framework file (a report built while today's profiles do not load)
    the clause id stands alone under the catalogue's word for "clause", never the
    framework's internal id."""
    if framework is None:
        text = t("report.citations.unknown_framework", lang, clause=clause)
        return f"{text} {t('report.citations.unconfirmed', lang)}", False
    req = framework.requirement(clause)
    document = (
        req.document
        if req is not None and req.document is not None
        else framework.document or framework.title
    )
    label = req.clause.get(lang) if req is not None and req.clause is not None else clause
    text = f"{document.get(lang)}, {label}"
    confirmed = bool(req.confirmed) if req is not None else False
    if not confirmed:
        text += " " + t("report.citations.unconfirmed", lang)
    return text, confirmed


def rule_citations(
    references: Mapping[str, Sequence[str]], frameworks: Mapping[str, Any], lang: str
) -> tuple[str, bool]:
    """All of a rule's citations in one line, legal basis first, then the department's
    policy, then cross-references; and whether any of them is unconfirmed."""
    legal: list[str] = []
    policy: list[str] = []
    crossref: list[str] = []
    unconfirmed = False
    for fw_id, clauses in references.items():
        fw = frameworks.get(fw_id)
        kind = getattr(fw, "kind", "legal")
        for clause in clauses:
            if kind == "policy":
                req = fw.requirement(clause) if fw is not None else None
                what = req.clause.get(lang) if req is not None and req.clause else clause
                policy.append(what)
                continue
            text, confirmed = cite(fw, fw_id, clause, lang)
            unconfirmed = unconfirmed or not confirmed
            (crossref if kind == "reference" else legal).append(text)
    parts = list(legal)
    if policy:
        parts.append(t("report.citations.policy", lang, what=", ".join(policy)))
    if crossref:
        parts.append(t("report.citations.crossref", lang, refs="; ".join(crossref)))
    return "; ".join(parts), unconfirmed


def citations_text(
    references: Mapping[str, Sequence[str]], frameworks: Mapping[str, Any]
) -> tuple[Text, bool]:
    """`rule_citations` in both languages."""
    vi, unconfirmed = rule_citations(references, frameworks, "vi")
    en, _ = rule_citations(references, frameworks, "en")
    return Text(vi, en), unconfirmed


def requirement_heading(framework: Any | None, fw_id: str, req: Any) -> Text:
    """A group heading of the requirements table: the citation, then the title."""
    parts = []
    for lang in LANGS:
        text, _ = cite(framework, fw_id, req.id, lang)
        parts.append(f"{text}: {req.title.get(lang)}")
    return Text(parts[0], parts[1])
