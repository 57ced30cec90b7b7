-- leaderboard_bucket_width(): how many gram values share a score's leaderboard bucket: 1 below 100 g,
-- then 10 ** (digits - 2), so that a bucket keeps a score's two leading digits (100-109 g is one
-- bucket, 1,000-1,099 g another). Pure arithmetic, hence IMMUTABLE and PARALLEL SAFE.
--
-- Used by leaderboard_bucket() and by leaderboard_ranks(), which counts the rest of a score's own
-- bucket from the fine tally.
CREATE OR REPLACE FUNCTION leaderboard_bucket_width(p_grams bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_grams < 100 THEN 1::bigint ELSE power(10::numeric, length(p_grams::text) - 2)::bigint END
$$;
