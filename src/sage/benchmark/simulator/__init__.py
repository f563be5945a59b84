"""A discrete-event simulator of the SAGE control plane over modelled engines.

It drives the very same :class:`~sage.llm.control_plane.policies.RequestPolicy`
objects the live dispatcher drives, with the same call protocol, over engines whose
service times come from a calibration measured on real engines (``sage bench
calibrate``). One heap, no threads, no sleeps: a million requests in seconds, and
cluster sizes, GPU-class speeds and traffic shapes the real hardware here cannot offer.
"""
