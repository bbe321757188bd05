"""Retrieval: embeddings, vector index, full text, query analysis, fusion, graph."""
