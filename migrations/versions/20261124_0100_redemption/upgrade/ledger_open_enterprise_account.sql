CREATE FUNCTION ledger_open_enterprise_account() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ledger_account (kind, enterprise_id) VALUES ('enterprise', NEW.id);
    RETURN NEW;
END $$;
