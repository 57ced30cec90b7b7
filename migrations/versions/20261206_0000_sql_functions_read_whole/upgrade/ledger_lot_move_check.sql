-- ledger_lot_move_check(): the trigger function that keeps lot moves honest, AFTER INSERT on
-- ledger_lot_move for each row (trigger ledger_lot_move_within_holding). A move may only take what its
-- source account holds of the lot, and only issuance transfers are lots; otherwise the insert fails
-- with SQLSTATE check_violation. So the same grams can never be spent, retired or expired twice, and
-- every gram stays traceable to the behaviour that earned it.
--
-- It runs for every lot move whichever code path writes it (redemption, refund, retirement, expiry,
-- reversal); callers hold the lock on the source account, so holdings cannot change underneath.
CREATE OR REPLACE FUNCTION ledger_lot_move_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_held bigint;
BEGIN
    -- The lot: an issuance transfer, whose amount the source holds to begin with if it was issued to it.
    SELECT CASE WHEN t.credit_account_id = NEW.from_account_id THEN t.amount ELSE 0 END
      INTO v_held FROM ledger_transfer t WHERE t.id = NEW.lot_id AND t.kind = 'issuance';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'ledger_lot_move: transfer % is not an issuance lot', NEW.lot_id
            USING ERRCODE = 'check_violation';
    END IF;
    -- Plus what moved in, less what moved out: the new move is already in the table (AFTER trigger), so
    -- this is the source's holding once it is made, which must not be negative.
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
