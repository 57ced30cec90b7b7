"""Leaderboards: individual boards by period, scope and category, and group boards, rolled up from the
ledger by one leader-elected background task so that recording never touches a leaderboard row.

Invariants: the roll-up is the only writer of scores, tallies and group totals (an erasure deletes a
resident's scores holding the roll-up's lock), and folds each ledger entry in once, in id order up to the
settled horizon; public ranks are as of the last roll-up, while a resident's own grams add their entries
above its mark; opted-out residents are on no public board.
Entry points: `rollup.run_once` (one roll-up step; its loop is in `tasks`), `service.top_board` (the
public top, through `cache.TopCache`), `service.my_standing`, `service.standing_by_handle`,
`service.group_board`, `personal.erase` (a deleted resident's score rows, for the privacy domain). The
SQL is in `repository` (`rollup`, `reads`, `personal`).
"""
