"""What the dataflow API and the runtimes share, below both of them: the function base
class and its task context (:mod:`.function`, :mod:`.context`) and the job contract
(:mod:`.job`: ``Runtime``, ``ServiceSpec``, ``JobMetrics``). The API builds jobs on it,
the runtimes execute them through it, and neither imports the other to do so."""
