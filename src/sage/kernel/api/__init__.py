"""The user-facing dataflow API: environments, streams, function base classes, services."""
