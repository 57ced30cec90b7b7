CREATE OR REPLACE FUNCTION leaderboard_rank(
    p_period text, p_start date, p_category text, p_scope text, p_scope_id bigint, p_grams bigint
) RETURNS bigint LANGUAGE sql STABLE AS $$
    -- Competition rank on a board: 1 + the visible residents with more grams, as rolled up: whole
    -- buckets above p_grams's bucket from the tally, the rest of its own bucket from the fine tally.
    SELECT 1
         + (SELECT COALESCE(sum(t.residents), 0) FROM leaderboard_tally t
             WHERE t.period = p_period AND t.period_start = p_start AND t.category = p_category
               AND t.scope = p_scope AND t.scope_id = p_scope_id AND t.bucket > leaderboard_bucket(p_grams))
         + (SELECT COALESCE(sum(f.residents), 0) FROM leaderboard_tally_fine f
             WHERE f.period = p_period AND f.period_start = p_start AND f.category = p_category
               AND f.scope = p_scope AND f.scope_id = p_scope_id AND f.grams > p_grams
               AND f.grams < (p_grams / leaderboard_bucket_width(p_grams) + 1) * leaderboard_bucket_width(p_grams))
$$;
