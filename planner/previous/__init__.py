"""What an earlier compile (or another tool's PEP 751 lock) pinned: read, validated, as pins."""
