"""L6 - the ``sage`` command line (typer + rich). Heavy imports happen inside
commands so that ``sage --help`` stays fast.
"""
