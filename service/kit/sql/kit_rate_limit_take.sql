-- kit_rate_limit_take(): one request against a rate limit, with the generic cell rate algorithm
-- (GCRA). A bucket is one row of kit_rate_limit_bucket, keyed by p_key, holding its theoretical
-- arrival time (tat). A request is allowed when max(tat, now) + p_interval - p_burst <= now, and then
-- moves tat on by one interval; p_interval is the time one request costs and p_burst how far ahead of
-- now tat may run, so up to p_burst / p_interval requests may come at once. It answers 0 when allowed,
-- else the seconds until a request would be (never 0, so 0 always means allowed); a refused request
-- changes nothing.
--
-- Called by service.kit.ratelimit.take (the API's limits: sign-in, residents' writes, voucher checks),
-- on a connection of its own that commits at once, and by ingest_record_batch() inside the recording
-- call. Either way the step locks the key's row until its transaction ends, so concurrent requests of
-- one key are counted one after the other.
-- clock_timestamp(), not now(): the time of the step itself, not of its transaction's start.
CREATE OR REPLACE FUNCTION kit_rate_limit_take(p_key text, p_interval interval, p_burst interval)
RETURNS double precision LANGUAGE plpgsql AS $$
-- GCRA: allowed when max(tat, now) + interval - burst <= now. Returns 0 when allowed, else seconds to wait.
DECLARE
    v_tat timestamptz;
BEGIN
    -- Allowed: a new key starts one interval from now; a known one moves on by one interval.
    INSERT INTO kit_rate_limit_bucket AS b (bucket_key, tat)
    VALUES (p_key, clock_timestamp() + p_interval)
    ON CONFLICT (bucket_key) DO UPDATE
       SET tat = GREATEST(b.tat, clock_timestamp()) + p_interval
     WHERE GREATEST(b.tat, clock_timestamp()) + p_interval - p_burst <= clock_timestamp()
    RETURNING tat INTO v_tat;
    IF FOUND THEN
        RETURN 0;
    END IF;
    -- Refused (the row is unchanged): how long until the request would be allowed, at least 1 ms.
    SELECT tat INTO v_tat FROM kit_rate_limit_bucket WHERE bucket_key = p_key;
    RETURN GREATEST(EXTRACT(EPOCH FROM GREATEST(v_tat, clock_timestamp()) + p_interval - p_burst - clock_timestamp()), 0.001);
END $$;
