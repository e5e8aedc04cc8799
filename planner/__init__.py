"""planner: a declarative build-plan compiler for multi-platform Python environments."""

__version__ = "0.1.0"
