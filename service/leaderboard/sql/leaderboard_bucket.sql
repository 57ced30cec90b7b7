-- leaderboard_bucket(): the bucket of leaderboard_tally a score counts in. It keeps two significant
-- digits of the score: 0-99 g each their own bucket, then 100-109, 110-119, ..., 990-999, 1,000-1,099,
-- and so on. Monotone: every resident in a higher bucket has more grams, which is what lets a rank sum
-- whole buckets above a score.
--
-- Used by the leaderboard roll-up (service.leaderboard.rollup), which keeps the tally per bucket, and
-- by leaderboard_ranks().
CREATE OR REPLACE FUNCTION leaderboard_bucket(p_grams bigint) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_grams < 100 THEN p_grams::integer
                ELSE ((length(p_grams::text) - 2) * 100 + p_grams / leaderboard_bucket_width(p_grams))::integer END
$$;
