"""Getting documents in: reading, cleaning, chunking, the law DB, incremental sync and the maintainers'
add / remove / list. Imports npcqa and index (to store what it reads); never quiz or web.
"""
