"""L1 - what every layer shares: settings, the port registry, logging and errors.

Nothing here imports another ``sage`` package, does I/O at import time or needs an
optional extra; it is safe to import from anywhere.
"""
