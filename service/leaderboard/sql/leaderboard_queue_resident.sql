-- leaderboard_queue_resident(): the trigger function that queues a resident for the next leaderboard
-- roll-up when their community, organisation, visibility or deletion changes (trigger
-- accounts_resident_leaderboard, AFTER UPDATE of those columns, only when one of them really changed).
-- The queue row is written in the same transaction as the change, whichever code path makes it, so
-- no change is missed; a resident already queued is queued once. The roll-up
-- (service.leaderboard.rollup) takes the queue and moves the resident's scores between boards.
CREATE OR REPLACE FUNCTION leaderboard_queue_resident() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO leaderboard_resident_change (resident_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
