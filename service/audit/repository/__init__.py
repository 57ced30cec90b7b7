"""All SQL of the audit domain, one module per job.

`log`: an entry's leaf fields and the stored subtrees, which every job reads; `sealing`: the sealer's
lock, mark and appends; `receipts`: checkpoints and a resident's entries; `verification`: the snapshot and
the queries `tanpuhui audit verify` walks; `search`: transfer search and its streamed export;
`dashboard` and `tally`: the district's figures and the roll-up's tallies; `reports`: the monthly
report's; `whatif`: credited behaviours grouped for a factor draft's what-if. Every value is bound; the
few statements assembled from module constants are assembled once, at import.
"""
