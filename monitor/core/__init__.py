"""Foundations every stage shares: the clock (London dates), ISO durations, cron parsing,
configuration and logging. Imports nothing else from monitor.
"""
