-- Competition rank on a board: 1 + the visible residents with more grams, as rolled up. The buckets
-- above p_grams are summed from the tally; inside p_grams's own bucket the scores are counted.
CREATE FUNCTION leaderboard_rank(
    p_period text, p_start date, p_category text, p_scope text, p_scope_id bigint, p_grams bigint
) RETURNS bigint LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_above bigint;
    v_inside bigint;
    v_ceiling bigint := (p_grams / leaderboard_bucket_width(p_grams) + 1) * leaderboard_bucket_width(p_grams);
BEGIN
    SELECT COALESCE(sum(t.residents), 0) INTO v_above FROM leaderboard_tally t
     WHERE t.period = p_period AND t.period_start = p_start AND t.category = p_category
       AND t.scope = p_scope AND t.scope_id = p_scope_id AND t.bucket > leaderboard_bucket(p_grams);
    -- One query per scope, each matching its own partial index (a single query with OR would match none).
    IF p_scope = 'community' THEN
        SELECT count(*) INTO v_inside FROM leaderboard_score s
         WHERE s.period = p_period AND s.period_start = p_start AND s.category = p_category AND s.visible
           AND s.grams > 0 AND s.community_id = p_scope_id AND s.grams > p_grams AND s.grams < v_ceiling;
    ELSIF p_scope = 'organisation' THEN
        SELECT count(*) INTO v_inside FROM leaderboard_score s
         WHERE s.period = p_period AND s.period_start = p_start AND s.category = p_category AND s.visible
           AND s.grams > 0 AND s.organisation_id = p_scope_id AND s.grams > p_grams AND s.grams < v_ceiling;
    ELSE
        SELECT count(*) INTO v_inside FROM leaderboard_score s
         WHERE s.period = p_period AND s.period_start = p_start AND s.category = p_category AND s.visible
           AND s.grams > 0 AND s.grams > p_grams AND s.grams < v_ceiling;
    END IF;
    RETURN 1 + v_above + v_inside;
END $$;
