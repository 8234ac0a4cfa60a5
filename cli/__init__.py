"""The ``tsf`` command line."""
