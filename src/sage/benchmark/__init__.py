"""L5 - benchmarks that report figures: dataflow throughput, serving (load
generator, baselines, simulator) and agent capability. Run via ``sage bench``.
"""
