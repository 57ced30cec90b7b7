-- What an account holds of each issuance lot it holds any of, oldest lot first.
CREATE FUNCTION ledger_lot_holdings(p_account bigint)
RETURNS TABLE (lot_id bigint, grams bigint, issued_at timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT x.lot_id, sum(x.grams)::bigint, l.created_at
      FROM (SELECT e.transfer_id AS lot_id, e.amount AS grams
              FROM ledger_entry e JOIN ledger_transfer t ON t.id = e.transfer_id AND t.kind = 'issuance'
             WHERE e.account_id = p_account AND e.amount > 0
            UNION ALL
            SELECT m.lot_id, m.grams FROM ledger_lot_move m WHERE m.to_account_id = p_account
            UNION ALL
            SELECT m.lot_id, -m.grams FROM ledger_lot_move m WHERE m.from_account_id = p_account) x
      JOIN ledger_transfer l ON l.id = x.lot_id
     GROUP BY x.lot_id, l.created_at
    HAVING sum(x.grams) > 0
     ORDER BY x.lot_id
$$;
