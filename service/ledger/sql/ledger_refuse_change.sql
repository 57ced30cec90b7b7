-- ledger_refuse_change(): the trigger function that makes a table append-only. Its triggers, BEFORE
-- UPDATE OR DELETE for each row and BEFORE TRUNCATE for each statement, sit on the ledger's transfers,
-- entries and lot moves, the sealed log (leaves, nodes, checkpoints), factor versions, retirement
-- certificates and the admin action log. Whatever code path tries, the change is refused with SQLSTATE
-- restrict_violation and the transaction fails: a correction is always a new row (a reversal, a new
-- factor version), never an edit.
CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END $$;
