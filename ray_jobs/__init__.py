"""Job entrypoints: each module builds a Ray Data or Ray Train graph from one config.

The same module runs on a laptop (Ray starts in-process) and on a cluster
(``ray job submit`` or ``RAY_ADDRESS``); algorithms live in :mod:`dance`.
"""
