"""L5 - end-to-end applications built from the lower layers, such as the RAG demo
that ``make demo`` runs.
"""
