"""Unit tests of obs/logging."""
