"""L6 - reserved for the visual pipeline studio (web UI, port 5173). It may import
any lower layer; nothing imports it.
"""
