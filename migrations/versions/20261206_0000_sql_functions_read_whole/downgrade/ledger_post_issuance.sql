CREATE OR REPLACE FUNCTION ledger_post_issuance(
    p_resident_id bigint, p_account bigint, p_issuance bigint, p_amount bigint, p_behaviour_id bigint,
    p_factor_version_id bigint, p_type text, p_local_date date, p_today date, p_budget_slot integer
) RETURNS bigint LANGUAGE plpgsql AS $$
-- One issuance: the transfer, its two entries, the resident's balance, cap usage and budget use.
DECLARE
    v_transfer bigint;
BEGIN
    INSERT INTO ledger_transfer (kind, debit_account_id, credit_account_id, amount, behaviour_id, factor_version_id)
    VALUES ('issuance', p_issuance, p_account, p_amount, p_behaviour_id, p_factor_version_id)
    RETURNING id INTO v_transfer;
    INSERT INTO ledger_entry (transfer_id, account_id, amount)
    VALUES (v_transfer, p_issuance, -p_amount), (v_transfer, p_account, p_amount);
    UPDATE ledger_account SET balance = balance + p_amount WHERE id = p_account;
    INSERT INTO ingest_cap_usage AS u (resident_id, behaviour_type, period, period_start, credited_g)
    VALUES (p_resident_id, p_type, 'day', p_local_date, p_amount),
           (p_resident_id, p_type, 'year', date_trunc('year', p_local_date)::date, p_amount)
    ON CONFLICT (resident_id, behaviour_type, period, period_start)
    DO UPDATE SET credited_g = u.credited_g + EXCLUDED.credited_g;
    IF p_budget_slot IS NOT NULL THEN
        UPDATE ingest_budget_slot SET used_g = used_g + p_amount WHERE budget_date = p_today AND slot = p_budget_slot;
    END IF;
    RETURN v_transfer;
END $$;
