-- ledger_open_resident_account(): the trigger function that opens a resident's ledger account, AFTER
-- INSERT on accounts_resident (trigger accounts_resident_ledger_account), in the same transaction as
-- the resident. Every resident has exactly one account (unique resident_id), whichever code path
-- creates the resident, so recording never has to create one.
CREATE OR REPLACE FUNCTION ledger_open_resident_account() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ledger_account (kind, resident_id) VALUES ('resident', NEW.id);
    RETURN NEW;
END $$;
