"""The week's plan and the backlog forecast: advice on clearing what the scan finds overdue.
May use monitor.rules, monitor.register and monitor.core.
"""
