CREATE OR REPLACE FUNCTION kit_rate_limit_take(p_key text, p_interval interval, p_burst interval)
RETURNS double precision LANGUAGE plpgsql AS $$
-- GCRA: allowed when max(tat, now) + interval - burst <= now. Returns 0 when allowed, else seconds to wait.
DECLARE
    v_tat timestamptz;
BEGIN
    INSERT INTO kit_rate_limit_bucket AS b (bucket_key, tat)
    VALUES (p_key, clock_timestamp() + p_interval)
    ON CONFLICT (bucket_key) DO UPDATE
       SET tat = GREATEST(b.tat, clock_timestamp()) + p_interval
     WHERE GREATEST(b.tat, clock_timestamp()) + p_interval - p_burst <= clock_timestamp()
    RETURNING tat INTO v_tat;
    IF FOUND THEN
        RETURN 0;
    END IF;
    SELECT tat INTO v_tat FROM kit_rate_limit_bucket WHERE bucket_key = p_key;
    RETURN GREATEST(EXTRACT(EPOCH FROM GREATEST(v_tat, clock_timestamp()) + p_interval - p_burst - clock_timestamp()), 0.001);
END $$;
