"""The jaco and jacod command lines, run as real processes."""
