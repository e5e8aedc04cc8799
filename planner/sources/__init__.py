"""Distributions that come from no index: the project itself, workspace members and `path`
sources (source trees, wheel files, sdist files), git commits and files at URLs. Later: PEP 517
metadata builds.

`local.py` reads the local ones and `direct.py` the git and URL ones (through `git.py` and
`url.py`); `tree_metadata.py` reads every source tree's static metadata; `provider.py` puts
them all in front of any index provider, so the solver sees one kind of candidate and metadata
whatever their origin (docs/architecture.md, docs/sources.md).
"""
