"""Ray Data stage classes: model set-up in ``__init__``, one batch in ``__call__``.

Each actor wraps plain functions from :mod:`dance`; it adds only the resources
(``num_cpus``, ``num_gpus``, pool size, batch size from config) needed to distribute them.
"""
