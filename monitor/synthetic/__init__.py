"""The deterministic synthetic register generator (demo seeds, tests, benchmarks). May use
register and core.
"""
