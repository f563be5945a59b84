"""One module per command group of the ``sage`` CLI."""
