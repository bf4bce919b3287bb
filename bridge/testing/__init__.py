"""Stand-ins for the apps the bridge talks to, for tests and benchmarks only (never used by the adapters)."""
