-- sites_registry_changed(): the trigger function that tells every process's site cache the registry changed.
-- Its triggers, AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE for each statement, sit on sites_site and
-- sites_site_key, so that whatever writes a site or a key (the admin API, the command line, an operator's
-- SQL) bumps sites_registry.version in the same transaction. The row lock this takes makes writers of the
-- registry commit one after another, so the version grows in commit order and a cache that saw version v
-- and loads again when it differs misses no change.
CREATE OR REPLACE FUNCTION sites_registry_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE sites_registry SET version = version + 1 WHERE id = 1;
    RETURN NULL;
END $$;
