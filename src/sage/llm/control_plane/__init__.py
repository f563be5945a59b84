"""The control plane: request model, scheduling policies and the dispatcher.

``types`` and ``policies`` are pure (no I/O, no engine imports) so that the
discrete-event simulator in ``sage.benchmark`` runs the very same policy code.
"""
