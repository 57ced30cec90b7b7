CREATE FUNCTION leaderboard_bucket(p_grams bigint) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_grams < 100 THEN p_grams::integer
                ELSE ((length(p_grams::text) - 2) * 100 + p_grams / leaderboard_bucket_width(p_grams))::integer END
$$;
