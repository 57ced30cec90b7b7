-- A change of community, organisation, visibility or a deletion is queued for the next roll-up in the
-- same transaction as the change, whichever code path makes it.
CREATE FUNCTION leaderboard_queue_resident() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO leaderboard_resident_change (resident_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
