CREATE FUNCTION leaderboard_bucket_width(p_grams bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_grams < 100 THEN 1::bigint ELSE power(10::numeric, length(p_grams::text) - 2)::bigint END
$$;
