"""Distributions that come from no index: the project itself, workspace members and `path`
sources (source trees, wheel files, sdist files). Later: git and URL sources, PEP 517 builds.

`local.py` reads them (pure apart from reading the files named); `provider.py` puts them
in front of any index provider, so the solver sees one kind of candidate and metadata whatever
their origin (docs/architecture.md).
"""
