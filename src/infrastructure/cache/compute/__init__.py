"""Compute-once: ``get_or_set`` for every provider, written once over the contract (see ``engine``)."""
