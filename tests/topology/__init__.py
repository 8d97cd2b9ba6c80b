"""Real multi-process Redis topologies for the tests: a Redis Cluster and a Sentinel-managed master."""
