CREATE FUNCTION ledger_open_resident_account() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ledger_account (kind, resident_id) VALUES ('resident', NEW.id);
    RETURN NEW;
END $$;
