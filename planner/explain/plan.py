"""Words for the facts `solve_plan` returns: why a target has no plan, why targets diverge, why a
package is held back, what holds each direct requirement below its newest version, and why a
derived target leaves an extra or group out.

`explain_plan(..., minimal=True)` also works out minimal facts by solving the explaining formula
again (explain/unsat.py, explain/why.py): the explanation of a target without a plan, the facts
that keep a lagging target from another's version, and those behind a hold by an earlier decision
or a conflict. With `minimal=False` it only words what the plan holds (no solving)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from packaging.utils import NormalizedName

from planner.encode.formula import FactKind
from planner.explain.render import where
from planner.plan.model import (PROJECT, Divergence, ExplainedFact, HeldBack, Hold, LeftOut, Plan, Refusal,
                                TargetPlan)
from planner.project.model import Project
from planner.solve.provider import Provider
from planner.targets.model import Target
from planner.targets.routing import route


def explain_plan(project: Project, plan: Plan, provider: Provider | None, minimal: bool = True) -> Plan:
    """`plan` with every reason worded; `minimal` (needs `provider`): with minimal facts too."""
    minimal = minimal and provider is not None
    targets = {t.target.name: t.target for t in plan.targets} | {u.target.name: u.target for u in plan.unsatisfiable}
    unsatisfiable = plan.unsatisfiable
    if minimal:
        from planner.explain.unsat import unsatisfiable as explained

        unsatisfiable = tuple(u if u.explanation is not None else explained(project, u.target, provider)  # type: ignore[arg-type]
                              for u in plan.unsatisfiable)
    held = tuple(_held_back(project, targets, provider if minimal else None, h) for h in plan.held_back)
    worded = replace(plan, unsatisfiable=unsatisfiable, held_back=held)
    divergences = tuple(_divergence(project, worded, provider if minimal else None, d) for d in plan.divergences)
    plans = tuple(replace(t, holds=tuple(_hold(project, worded, t, provider if minimal else None, h) for h in t.holds),
                          left_out=tuple(left_out_worded(item) for item in t.left_out))
                  for t in plan.targets)
    return replace(worded, divergences=divergences, targets=plans)


# -- what a derived target leaves out ---------------------------------------------------------------
MAX_REASON_LINES = 2


def left_out_worded(item: LeftOut) -> LeftOut:
    """The facts that keep an extra or group off a derived target as its reason, and the fix
    (the marker that makes that explicit, or declared targets)."""
    from planner.explain.render import conclusion, merge

    if item.reason and item.fix:
        return item
    lines = merge(item.facts)
    blocking = [line.text for line in lines if line.kind not in (FactKind.REQUIREMENT, FactKind.DEPENDENCY)]
    reason = "; ".join(blocking[:MAX_REASON_LINES]) if blocking else conclusion(item.facts)
    declare = "or declare the targets you need under [tool.planner.targets] (declared targets are strict)"
    if item.marker is None or not item.requirements:
        fix = f"to make it explicit, {declare}"
    else:
        written = [text + (f" ({location.file.name}:{location.line})" if location and location.line else "")
                   for text, location in item.requirements]
        fix = f"to make it explicit, add the marker `; {item.marker}` to {', '.join(written)}, {declare}"
    return replace(item, reason=item.reason or reason, fix=item.fix or fix)


# -- refusals -----------------------------------------------------------------------------------
def refusal_text(package: str, refusal: Refusal) -> str:
    if refusal.kind == "excluded":
        return f"{refusal.detail} on {refusal.target}"
    if refusal.kind == "infeasible":
        return f"{package} {refusal.version} does not fit the other choices on {refusal.target}"
    if refusal.kind == "kept":
        return f"{refusal.target} keeps {package} at {refusal.detail}"
    return refusal.detail


def _lagging_reason(project: Project, target: Target, provider: Provider, package: str, version) -> str | None:  # type: ignore[no-untyped-def]
    from planner.explain.why import version_reason

    reason = version_reason(project, target, provider, NormalizedName(package), version)
    return f"{target.name} cannot take {package} {version}: {reason.text}" if reason.facts else None


def _held_back(project: Project, targets: dict[str, Target], provider: Provider | None, held: HeldBack) -> HeldBack:
    """ "does not fit the other choices on T" becomes T's minimal facts, when worked out."""
    parts = []
    for refusal in held.refusals:
        text = refusal_text(held.package, refusal)
        if refusal.kind == "infeasible" and provider is not None and refusal.target in targets:
            text = _lagging_reason(project, targets[refusal.target], provider, held.package, held.newest) or text
        parts.append(text)
    return replace(held, reason="; ".join(parts) or held.reason)


# -- divergences --------------------------------------------------------------------------------
def _divergence(project: Project, plan: Plan, provider: Provider | None, divergence: Divergence) -> Divergence:
    entries = [(t, t.get(divergence.package)) for t in plan.targets]
    entries = [(t, p) for t, p in entries if p is not None]
    if divergence.kind == "artifact":
        reason, facts = _build_reason(project, divergence.package, entries)
        return replace(divergence, reason=reason, facts=facts)
    refused = "; ".join(refusal_text(divergence.package, r) for r in divergence.refusals)
    reason = refused or _python_reason(entries, plan.alignment) or "no common version fits every target"
    facts: tuple[ExplainedFact, ...] = ()
    python_split = len({t.target.python.short for t, _ in entries}) > 1 and plan.alignment == "per-python"
    if provider is not None and not python_split:
        forced = _forcing_facts(project, provider, divergence.package, entries)
        if forced is not None:
            mode = " (alignment = \"per-target\")" if plan.alignment == "per-target" else ""
            reason, facts = forced[0] + mode, forced[1]
    return replace(divergence, reason=reason, facts=facts)


def _forcing_facts(project: Project, provider: Provider, name: str, entries) -> tuple[str, tuple[ExplainedFact, ...]] | None:  # type: ignore[no-untyped-def]
    """For each target below the newest version another target took: the minimal facts that
    keep it from that version ("no wheel of torch 2.6.0 for macosx_13_0_x86_64/cp311 ...")."""
    from planner.explain.why import version_reason
    from planner.solve.target_solver import public

    best = max(public(p.version) for _, p in entries)
    parts: list[str] = []
    facts: list[ExplainedFact] = []
    for target_plan, planned in entries:
        if public(planned.version) == best:
            continue
        reason = version_reason(project, target_plan.target, provider, NormalizedName(name), best)
        if not reason.facts:
            continue
        parts.append(f"{target_plan.target.name} cannot take {name} {best}: {reason.text}")
        facts.extend(f for f in reason.facts if f not in facts)
    if not parts:
        return None
    return "; ".join(parts), tuple(facts)


def _python_reason(entries, alignment: str) -> str | None:  # type: ignore[no-untyped-def]
    pythons = {t.target.python.short for t, _ in entries}
    if len(pythons) > 1 and alignment == "per-python":
        return "targets on different Python versions are aligned separately (alignment = \"per-python\")"
    if alignment == "per-target":
        return "each target takes its own newest (alignment = \"per-target\")"
    return None


def _build_reason(project: Project, name: str, entries) -> tuple[str, tuple[ExplainedFact, ...]]:  # type: ignore[no-untyped-def]
    parts, facts = [], []
    for target_plan, planned in entries:
        decided = route(project, target_plan.target, name)
        if decided.source is not None:
            text = (f"the source rule at {decided.source.origin} routes {name} on {target_plan.target.name} "
                    f"to {decided.source.index}, which publishes {planned.version}")
            parts.append(text)
            facts.append(ExplainedFact("source", text, decided.source.origin, name, True,
                                       (f"source {name} {decided.source.index}",)))
    if parts:
        return "; ".join(parts), tuple(facts)
    indexes = sorted({p.index for _, p in entries})
    if len(indexes) > 1:
        return (f"{name} comes from different indexes ({', '.join(indexes)}) under the index strategy "
                f"\"{project.uv.index_strategy.value}\"", ())
    return "the indexes publish different builds of this version for these targets", ()


# -- holds --------------------------------------------------------------------------------------
def _order_note(project: Project, hold: Hold) -> str:
    if hold.by in project.planner.prefer_newest:
        return f"{hold.by} is listed in [tool.planner] prefer-newest"
    return (f"direct requirements are decided in name order; [tool.planner] prefer-newest = [\"{hold.package}\"] "
            f"decides {hold.package} first")


def hold_text(project: Project, plan: Plan, target: str, hold: Hold) -> str:
    """What holds `hold.package` below its newest version, in words (facts, when worked out, follow)."""
    name, newest = hold.package, hold.newest
    at = f" ({where(hold.location)})" if hold.location is not None else ""
    if hold.cause == "project":
        return f"the project requires {hold.requirement}{at}"
    if hold.cause == "constraint":
        if hold.location is not None and hold.location.file.name.startswith("--"):
            return f"{hold.location.file.name} {hold.requirement}"
        return f"constraint-dependencies has {hold.requirement}{at}"
    if hold.cause == "requirement":
        return f"{hold.by} {hold.by_version} requires {hold.requirement}"
    if hold.cause == "pin":
        if hold.by is None or hold.by == name:
            return f"kept from the previous plan (planner compile -P {name} upgrades it)"
        return (f"{hold.by} is kept at {hold.by_version} from the previous plan and {name} {newest} does not fit it "
                f"(planner compile -P {name} upgrades both as far as needed)")
    if hold.cause == "pins":
        return (f"the pins kept from the previous plan leave no room for {name} {newest} "
                f"(planner compile -P {name} moves it and what it forces)")
    if hold.cause == "upgrade":
        if hold.by == name:
            return f"--upgrade-package {name} took {hold.by_version}"
        return f"--upgrade-package {hold.by} took {hold.by} {hold.by_version} first, and {name} {newest} does not fit it"
    if hold.cause == "alignment":
        reasons = [h.reason for h in plan.held_back if h.package == name and h.target == target and h.reason]
        return "held back to stay aligned with other targets" + (f": {reasons[0]}" if reasons else "")
    if hold.cause == "resolution":
        return f"resolution = \"{project.uv.resolution.value}\" takes the lowest version"
    if hold.cause == "decision":
        if hold.by is None:
            return f"the decisions taken before it leave no room for {name} {newest}"
        return f"{hold.by} {hold.by_version} was decided first ({_order_note(project, hold)}) and {name} {newest} does not fit it"
    return (f"{name} {newest} cannot be installed together with the project's requirements "
            f"(planner why-not {name}=={newest} --fresh names them)")


def clash_text(clash) -> str:  # type: ignore[no-untyped-def]
    against = "; ".join(f"the project requires {r}" if by == PROJECT else f"{by} {v} requires {r}"
                        for by, v, r in clash.against)
    return f"it requires {clash.requirement}, and the plan has {clash.package} {clash.version}" + \
        (f" ({against})" if against else "")


def _hold(project: Project, plan: Plan, target_plan: TargetPlan, provider: Provider | None, hold: Hold) -> Hold:
    """Worded, with the requirements of the newest version that the plan's versions do not meet
    (`clashes`, read from the metadata the solving had). Minimal facts are not searched for here:
    that costs a search over the whole explaining formula per target; `why-not --fresh` does it."""
    text = hold_text(project, plan, target_plan.target.name, hold)
    if hold.clashes:
        text += ": " + "; ".join(clash_text(c) for c in hold.clashes)
    return replace(hold, reason=text)


def shown_holds(target_plan: TargetPlan) -> Sequence[Hold]:
    """The holds worth a line in the summary: not the project's own bounds, not its own pins, not
    resolution = "lowest" (each is what the project asked for)."""
    return [h for h in target_plan.holds if h.cause not in ("project", "constraint", "resolution")
            and not (h.cause == "pin" and (h.by is None or h.by == h.package))]


__all__ = ["explain_plan", "hold_text", "left_out_worded", "refusal_text", "shown_holds", "PROJECT"]
