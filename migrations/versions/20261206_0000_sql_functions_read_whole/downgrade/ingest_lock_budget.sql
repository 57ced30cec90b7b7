CREATE OR REPLACE FUNCTION ingest_lock_budget(p_today date, p_slot integer, p_budget_g bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
-- Locks this slot's row of today's budget and returns what it still allows (NULL: no budget).
DECLARE
    v_used bigint;
BEGIN
    IF p_budget_g IS NULL THEN
        RETURN NULL;
    END IF;
    INSERT INTO ingest_budget_slot (budget_date, slot, used_g) VALUES (p_today, p_slot, 0) ON CONFLICT DO NOTHING;
    SELECT used_g INTO v_used FROM ingest_budget_slot WHERE budget_date = p_today AND slot = p_slot FOR UPDATE;
    RETURN p_budget_g / 64 + CASE WHEN p_slot = 0 THEN p_budget_g % 64 ELSE 0 END - v_used;
END $$;
