-- ingest_allowed_credit(): what a behaviour of p_grams may be credited under the caps, and which limit
-- cut it: credit = min(p_grams, what the daily cap and the yearly cap leave of the resident's usage for
-- the behaviour type, p_budget_left), reason NULL when nothing was cut. The same rule as
-- service.factors.conversion.apply_caps and as the running sums of ingest_record_batch().
--
-- Called by ingest_review() when an operator approves a held report, with the resident's account
-- locked, so that usage cannot change underneath. Reads only.
CREATE OR REPLACE FUNCTION ingest_allowed_credit(
    p_resident_id bigint, p_type text, p_local_date date, p_grams bigint, p_daily_cap bigint,
    p_yearly_cap bigint, p_budget_left bigint, OUT credit bigint, OUT reason text
) LANGUAGE plpgsql STABLE AS $$
-- The caps, as service.factors.conversion.apply_caps states them: the tightest limit names the reason.
-- Call with the resident's account locked, so that usage cannot change underneath.
DECLARE
    v_day_used bigint;
    v_year_used bigint;
BEGIN
    -- What the resident has been credited for this behaviour type on that day and in that year.
    SELECT COALESCE(max(u.credited_g) FILTER (WHERE u.period = 'day'), 0),
           COALESCE(max(u.credited_g) FILTER (WHERE u.period = 'year'), 0)
      INTO v_day_used, v_year_used
      FROM ingest_cap_usage u
     WHERE u.resident_id = p_resident_id AND u.behaviour_type = p_type
       AND ((u.period = 'day' AND u.period_start = p_local_date)
         OR (u.period = 'year' AND u.period_start = date_trunc('year', p_local_date)::date));
    -- Each limit in turn lowers the credit; the last one that lowers it names the reason.
    credit := p_grams;
    reason := NULL;
    IF p_daily_cap - v_day_used < credit THEN
        credit := GREATEST(p_daily_cap - v_day_used, 0); reason := 'daily_cap';
    END IF;
    IF p_yearly_cap - v_year_used < credit THEN
        credit := GREATEST(p_yearly_cap - v_year_used, 0); reason := 'yearly_cap';
    END IF;
    IF p_budget_left IS NOT NULL AND p_budget_left < credit THEN
        credit := GREATEST(p_budget_left, 0); reason := 'platform_budget';
    END IF;
END $$;
