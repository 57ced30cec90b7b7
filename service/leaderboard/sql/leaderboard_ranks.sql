-- leaderboard_ranks(): the competition rank of p_grams on one board (period, start, category) within a
-- scope (district 0, or a community or organisation id): 1 + the visible residents with more grams, as
-- last rolled up. Whole buckets above p_grams's bucket come from leaderboard_tally, the rest of its own
-- bucket from leaderboard_tally_fine, so a rank is two index range sums, never a count over residents.
--
-- A table function of one row and plain SQL: used in FROM (CROSS JOIN LATERAL leaderboard_ranks(...))
-- it is inlined into the calling query and planned with it, as service.leaderboard.service's standing
-- query does for every score around a resident. leaderboard_rank() is the same as a scalar.
CREATE OR REPLACE FUNCTION leaderboard_ranks(
    p_period leaderboard_period, p_start date, p_category leaderboard_category, p_scope leaderboard_scope,
    p_scope_id bigint, p_grams bigint
) RETURNS TABLE (rank bigint) LANGUAGE sql STABLE AS $$
    -- Competition rank on a board: 1 + the visible residents with more grams, as rolled up: whole
    -- buckets above p_grams's bucket from the tally, the rest of its own bucket from the fine tally.
    SELECT 1
           -- the buckets above p_grams's bucket
         + (SELECT COALESCE(sum(t.residents), 0) FROM leaderboard_tally t
             WHERE t.period = p_period AND t.period_start = p_start AND t.category = p_category
               AND t.scope = p_scope AND t.scope_id = p_scope_id AND t.bucket > leaderboard_bucket(p_grams))
           -- the gram values above p_grams in its own bucket
         + (SELECT COALESCE(sum(f.residents), 0) FROM leaderboard_tally_fine f
             WHERE f.period = p_period AND f.period_start = p_start AND f.category = p_category
               AND f.scope = p_scope AND f.scope_id = p_scope_id AND f.grams > p_grams
               AND f.grams < (p_grams / leaderboard_bucket_width(p_grams) + 1) * leaderboard_bucket_width(p_grams))
$$;
