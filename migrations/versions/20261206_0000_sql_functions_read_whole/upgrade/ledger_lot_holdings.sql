-- ledger_lot_holdings(): what an account holds of each issuance lot it holds any of, oldest lot first,
-- with the lot's issue time. Every issuance transfer is a lot; an account's holding of a lot is the
-- lot's amount if the lot was issued to it, plus the grams of it moved in, less the grams moved out
-- (ledger_lot_move). Lots it no longer holds anything of are left out.
--
-- Called by service.ledger.lots (spending takes the oldest lots first), service.ledger.expiry, and
-- ledger_expire(). Reads only: a caller that moves credits holds the lock on the account they leave.
CREATE OR REPLACE FUNCTION ledger_lot_holdings(p_account bigint)
RETURNS TABLE (lot_id bigint, grams bigint, issued_at timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT x.lot_id, sum(x.grams)::bigint, l.created_at
      FROM (
            -- the lots issued to the account
            SELECT e.transfer_id AS lot_id, e.amount AS grams
              FROM ledger_entry e JOIN ledger_transfer t ON t.id = e.transfer_id AND t.kind = 'issuance'
             WHERE e.account_id = p_account AND e.amount > 0
            UNION ALL
            -- grams of lots moved in
            SELECT m.lot_id, m.grams FROM ledger_lot_move m WHERE m.to_account_id = p_account
            UNION ALL
            -- grams of lots moved out
            SELECT m.lot_id, -m.grams FROM ledger_lot_move m WHERE m.from_account_id = p_account) x
      JOIN ledger_transfer l ON l.id = x.lot_id
     GROUP BY x.lot_id, l.created_at
    -- only lots the account still holds some of
    HAVING sum(x.grams) > 0
     ORDER BY x.lot_id
$$;
