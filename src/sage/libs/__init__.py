"""L3 - pure algorithms: loaders, chunkers, retrieval, agent strategies, metrics.

No network, no engines, no dataflow: functions and small classes that take their
model calls through injected client interfaces, so they can be tested and
benchmarked in isolation.
"""
