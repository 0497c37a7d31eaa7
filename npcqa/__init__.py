"""The base layer: settings, typed objects, text helpers, clock, logs and auth; imports nothing above it.

Every other package (index, ingest, quiz, web, app, evals) may import from here; npcqa imports none of them.
"""
