CREATE OR REPLACE FUNCTION leaderboard_rank(
    p_period text, p_start date, p_category text, p_scope text, p_scope_id bigint, p_grams bigint
) RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT rank FROM leaderboard_ranks(p_period, p_start, p_category, p_scope, p_scope_id, p_grams)
$$;
