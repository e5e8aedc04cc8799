"""The machine planner runs on, for `planner detect` only: probes read it (I/O, replaceable), and
`match.py` says which target it is (pure). No other stage looks at the host: targets are data."""
