"""Serving benchmark: open-loop mixed LLM + embedding load against OpenAI-compatible
endpoints (the SAGE gateway under each policy, or the engines called directly), with
vLLM-style latency metrics, SLO attainment, interference and a JSON/PNG/HTML report.

Entry points: ``sage bench serve`` (one target) and ``sage bench compare`` (siloed vs
``unified/<policy>`` side by side). The simulator in :mod:`sage.benchmark.simulator`
reuses the workload and metric code here.
"""
