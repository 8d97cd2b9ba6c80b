"""The near cache: a Redis cache's hot entries kept in the process, invalidated by the server.

``near_provider`` (the wrapper), ``store`` (the bounded LRU and its no-stale rules), ``listener``
(the thread that keeps tracking on) and ``leases`` (compute-once through it). The Redis side -
the tracking connection and the one-round-trip GET + PTTL - lives in ``providers/redis``
(``tracking``, ``ttl_reads``, ``near_source``). docs/near-cache.md tells users what it promises.
"""
