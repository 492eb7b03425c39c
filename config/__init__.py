"""The documented configuration and the systemd units, shipped inside the wheel as ``monitor.config``.

``visit-monitor config example`` prints ``monitor.toml``; ``visit-monitor systemd-units``
writes the units with the paths of the installation it runs from.
"""
