"""tanpuhui — the Haihe carbon-inclusion (碳普惠) platform back end.

Residents earn grams of CO₂e credit for low-carbon behaviour; data partners push signed batches;
enterprises take credits for rewards and retire them; administrators audit every gram.
`service.main.create_app()` builds the ASGI application; `service.cli` is the `tanpuhui` command.
"""
