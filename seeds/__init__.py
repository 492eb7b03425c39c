"""Synthetic demo register, shipped inside the wheel as ``monitor.seeds``. Nothing real."""
