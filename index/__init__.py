"""Retrieval and answers: embedding, the Chroma store, BM25, retrievers, the relevance decision, the engine
and its answering strategies. Imports only npcqa (ingest, quiz and web build on it).
"""
