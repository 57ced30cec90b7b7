-- leaderboard_rank(): the competition rank of p_grams on a board within a scope, as a scalar: the one
-- row of leaderboard_ranks(), where the computation is written once. For SQL that wants a rank as a
-- value; the service reads ranks through leaderboard_ranks(), which the planner can inline.
CREATE OR REPLACE FUNCTION leaderboard_rank(
    p_period leaderboard_period, p_start date, p_category leaderboard_category, p_scope leaderboard_scope,
    p_scope_id bigint, p_grams bigint
) RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT rank FROM leaderboard_ranks(p_period, p_start, p_category, p_scope, p_scope_id, p_grams)
$$;
