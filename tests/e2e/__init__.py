"""End-to-end tests on real jacod processes (and a private journald)."""
