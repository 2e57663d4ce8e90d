"""atomloop's Prefect flows, shipped in the wheel as ``atomloop.flows``.

Deployments name them by file (``flows/active_learning.py:active_learning``); the library
imports them as modules of this package.
"""
