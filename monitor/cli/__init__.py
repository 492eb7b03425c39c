"""The visit-monitor command line: app.py is the group, one module per command, each loaded
only when run. The top layer: may use every stage.
"""
