"""Explanations as JSON-ready dicts (`plan.json`, `--format json`): facts with kind, text and
source location; fixes with their changes; why / why-not answers."""

from __future__ import annotations

from typing import Any

from planner.errors import Location, format_key
from planner.plan.model import Change, Divergence, ExplainedFact, Explanation, Fix, Unsatisfiable


def location_document(location: Location | None) -> dict[str, Any] | None:
    if location is None:
        return None
    return {"file": location.file.name, "line": location.line, "key": format_key(location.key) or None}


def fact_document(fact: ExplainedFact) -> dict[str, Any]:
    return {
        "kind": fact.kind,
        "text": fact.text,
        "location": location_document(fact.location),
        "package": fact.package,
        "relaxable": fact.relaxable,
        "facts": list(fact.labels),
    }


def change_document(change: Change) -> dict[str, Any]:
    return {"kind": change.kind, "text": change.text, "location": location_document(change.location)}


def fix_document(fix: Fix) -> dict[str, Any]:
    return {"text": fix.text, "changes": [change_document(c) for c in fix.changes], "result": fix.result or None,
            "verified": True}


def explanation_document(explanation: Explanation) -> dict[str, Any]:
    return {
        "target": explanation.target,
        "facts": [fact_document(f) for f in explanation.facts],
        "conclusion": explanation.conclusion,
        "fixes": [fix_document(f) for f in explanation.fixes],
        "complete": explanation.complete,
    }


def unsatisfiable_document(unsat: Unsatisfiable) -> dict[str, Any]:
    """`{"target", "message", "facts", "conclusion", "fixes", "complete"}` for a target without a plan."""
    out: dict[str, Any] = {"target": unsat.target.name, "message": unsat.message}
    if unsat.explanation is not None:
        body = explanation_document(unsat.explanation)
        body.pop("target")
        out.update(body)
    return out


def divergence_document(divergence: Divergence) -> dict[str, Any]:
    """`{"package", "kind", "choices": {target: "version [index]"}, "reason", "facts"}`."""
    return {
        "package": divergence.package,
        "kind": divergence.kind,
        "choices": {target: choice for target, choice in divergence.choices},
        "reason": divergence.reason,
        "facts": [fact_document(f) for f in divergence.facts],
    }


def why_document(answer: Any) -> dict[str, Any]:
    """A `planner.explain.why.WhyAnswer` as a dict."""
    return {
        "target": answer.target,
        "package": answer.package,
        "version": answer.version,
        "chains": [list(chain) for chain in answer.chains],
        "newest": answer.newest,
        "newer": [_reason_document(r) for r in answer.newer],
        "note": answer.note or None,
        "origin": answer.origin or None,
    }


def why_not_document(answer: Any) -> dict[str, Any]:
    """A `planner.explain.why.WhyNotAnswer` as a dict."""
    return {
        "target": answer.target,
        "package": answer.package,
        "version": answer.version,
        "planned": answer.planned,
        "reason": _reason_document(answer.reason),
    }


def _reason_document(reason: Any) -> dict[str, Any]:
    return {"version": reason.version, "text": reason.text, "facts": [fact_document(f) for f in reason.facts],
            "note": reason.note or None}
