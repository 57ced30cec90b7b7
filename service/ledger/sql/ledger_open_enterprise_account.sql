-- ledger_open_enterprise_account(): the trigger function that opens an enterprise's ledger account,
-- AFTER INSERT on accounts_enterprise (trigger accounts_enterprise_ledger_account), in the same
-- transaction as the enterprise. Every enterprise has exactly one account (unique enterprise_id),
-- whichever code path creates the enterprise.
CREATE OR REPLACE FUNCTION ledger_open_enterprise_account() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ledger_account (kind, enterprise_id) VALUES ('enterprise', NEW.id);
    RETURN NEW;
END $$;
