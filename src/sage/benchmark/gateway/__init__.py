"""``sage bench gateway``: what the gateway costs and what micro-batching buys.

* overhead: added p50 latency and throughput ratio, gateway vs direct, on a fast
  fake engine;
* streaming: tokens/s streamed through the gateway vs llama-cpp-python in-process;
* embeddings: throughput at saturation, hybrid micro-batching vs one request per call.
"""
