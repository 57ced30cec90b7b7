"""The leaderboard's SQL, one module per job.

`rollup`: the roll-up's statements, run in its transaction on a SQLAlchemy connection. `reads`: the board
reads, each one statement on a plain asyncpg read-only connection. Every statement is assembled once, at
import, from module constants and enum members; values are always bound as parameters.
"""
