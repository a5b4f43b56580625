"""jacod: the JACO node daemon."""
