-- A move may only take what its source holds of the lot, and only issuance transfers are lots.
CREATE OR REPLACE FUNCTION ledger_lot_move_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_held bigint;
BEGIN
    SELECT CASE WHEN t.credit_account_id = NEW.from_account_id THEN t.amount ELSE 0 END
      INTO v_held FROM ledger_transfer t WHERE t.id = NEW.lot_id AND t.kind = 'issuance';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'ledger_lot_move: transfer % is not an issuance lot', NEW.lot_id
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT v_held + coalesce(sum(CASE WHEN m.to_account_id = NEW.from_account_id THEN m.grams ELSE -m.grams END), 0)
      INTO v_held
      FROM ledger_lot_move m
     WHERE m.lot_id = NEW.lot_id AND NEW.from_account_id IN (m.to_account_id, m.from_account_id);
    IF v_held < 0 THEN
        RAISE EXCEPTION 'ledger_lot_move: account % would hold % g of lot %', NEW.from_account_id, v_held, NEW.lot_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
