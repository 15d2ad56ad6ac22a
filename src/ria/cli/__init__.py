"""The ``ria`` command line."""
