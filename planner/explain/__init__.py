"""Explanations in the user's terms: why a target has no plan (a minimal set of facts and fixes
that were checked by solving again), why a package is in a plan at its version, why a version
is not, and why targets differ. See docs/explanations.md."""
