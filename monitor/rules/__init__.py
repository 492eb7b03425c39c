"""The due-date rules: the one scan that turns the register into obligations, and their
result types. May use monitor.register and monitor.core.
"""
