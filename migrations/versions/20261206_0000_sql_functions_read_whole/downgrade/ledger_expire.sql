-- Expire, for each resident account given, what it still holds of lots whose validity (p_months from
-- issue) has ended by p_as_of, in one transfer per account to the expired account; accounts are locked
-- in id order.
CREATE OR REPLACE FUNCTION ledger_expire(p_accounts bigint[], p_as_of timestamptz, p_months integer, p_expired bigint,
                              p_actor text)
RETURNS TABLE (account_id bigint, grams bigint, transfer_id bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_account bigint;
    v_grams bigint;
    v_lots bigint[];
    v_amounts bigint[];
    v_transfer bigint;
BEGIN
    FOR v_account IN
        SELECT a.id FROM ledger_account a
         WHERE a.id = ANY(p_accounts) AND a.kind = 'resident' ORDER BY a.id FOR UPDATE
    LOOP
        SELECT coalesce(sum(h.grams), 0), array_agg(h.lot_id ORDER BY h.lot_id), array_agg(h.grams ORDER BY h.lot_id)
          INTO v_grams, v_lots, v_amounts
          FROM ledger_lot_holdings(v_account) h
         WHERE h.issued_at + make_interval(months => p_months) <= p_as_of;
        CONTINUE WHEN v_grams = 0;
        INSERT INTO ledger_transfer (kind, debit_account_id, credit_account_id, amount, reason, actor)
        VALUES ('expiry', v_account, p_expired, v_grams, 'validity ended', p_actor)
        RETURNING id INTO v_transfer;
        INSERT INTO ledger_entry (transfer_id, account_id, amount)
        VALUES (v_transfer, v_account, -v_grams), (v_transfer, p_expired, v_grams);
        UPDATE ledger_account SET balance = balance - v_grams WHERE id = v_account;
        INSERT INTO ledger_lot_move (transfer_id, lot_id, from_account_id, to_account_id, grams)
        SELECT v_transfer, u.lot, v_account, p_expired, u.g FROM unnest(v_lots, v_amounts) u(lot, g);
        account_id := v_account;
        grams := v_grams;
        transfer_id := v_transfer;
        RETURN NEXT;
    END LOOP;
END $$;
