"""Leaderboards: individual boards by period, scope and category, and group boards, rolled up from the
ledger by one leader-elected background task so that recording never touches a leaderboard row.

Entry points: `rollup.run_once` (one roll-up step; its loop is in `tasks`),
`service.top`, `service.standing`, `service.groups`.
"""
