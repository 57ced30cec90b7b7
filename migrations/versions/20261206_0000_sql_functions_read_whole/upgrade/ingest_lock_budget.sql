-- ingest_lock_budget(): locks one slot of today's platform budget and returns what the slot still
-- allows, NULL when there is no budget (p_budget_g NULL). The budget is split over 64 slots by resident
-- id (slot = resident id % 64) so that no single row is locked by every credit: a slot allows a 64th of
-- p_budget_g, slot 0 also the remainder.
--
-- Called by ingest_review() before it locks the resident's account: budget slot, then account, the
-- same order as ingest_record_batch(), so the two cannot deadlock. The lock holds until the caller's
-- transaction ends, so what it returns stays true until the caller posts.
CREATE OR REPLACE FUNCTION ingest_lock_budget(p_today date, p_slot integer, p_budget_g bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
-- Locks this slot's row of today's budget and returns what it still allows (NULL: no budget).
DECLARE
    v_used bigint;
BEGIN
    IF p_budget_g IS NULL THEN
        RETURN NULL;
    END IF;
    -- Today's row of the slot, made if this is its first use today, then locked.
    INSERT INTO ingest_budget_slot (budget_date, slot, used_g) VALUES (p_today, p_slot, 0) ON CONFLICT DO NOTHING;
    SELECT used_g INTO v_used FROM ingest_budget_slot WHERE budget_date = p_today AND slot = p_slot FOR UPDATE;
    -- The slot's share of the budget, less what it has credited today.
    RETURN p_budget_g / 64 + CASE WHEN p_slot = 0 THEN p_budget_g % 64 ELSE 0 END - v_used;
END $$;
