"""JACO's test suite. A package so test packages (``tests.obs``) never shadow
the product's top-level packages (``obs``)."""
