CREATE OR REPLACE FUNCTION ingest_record_batch(
    p_records jsonb,
    p_source text,
    p_partner_id bigint,
    p_issuance_accounts bigint[],
    p_today date,
    p_budget_g bigint,
    p_rate_key text,
    p_rate_interval interval,
    p_rate_burst interval
) RETURNS TABLE (
    ord integer, outcome text, behaviour_id bigint, status text, credited_g bigint, capped_g bigint,
    cap_reason text, balance_after bigint, content_sha256 bytea, related_id bigint, retry_after double precision
) LANGUAGE plpgsql
-- Planning the recording statement costs more than running it for one record: plan it once per session.
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
    v_wait double precision;
    v_rids bigint[];
    v_slots integer[];
BEGIN
    IF p_rate_key IS NOT NULL THEN
        v_wait := kit_rate_limit_take(p_rate_key, p_rate_interval, p_rate_burst);
        IF v_wait > 0 THEN
            RETURN QUERY SELECT (x.value->>'ord')::integer, 'rate_limited'::text, NULL::bigint, NULL::text,
                NULL::bigint, NULL::bigint, NULL::text, NULL::bigint, NULL::bytea, NULL::bigint, v_wait
              FROM jsonb_array_elements(p_records) AS x;
            RETURN;
        END IF;
    END IF;

    -- Lookups are LATERAL with LIMIT so that each stays an index probe whatever the planner guesses of
    -- the batch's size: a hash join here would scan a million-row table.
    SELECT array_agg(DISTINCT COALESCE(x.resident_id, res.id)) FILTER (WHERE COALESCE(x.resident_id, res.id) IS NOT NULL)
      INTO v_rids
      FROM jsonb_to_recordset(p_records) AS x(resident_id bigint, resident_public_id uuid)
      LEFT JOIN LATERAL (SELECT r.id FROM accounts_resident r WHERE r.public_id = x.resident_public_id LIMIT 1) res
        ON true;

    IF p_budget_g IS NOT NULL THEN
        SELECT array_agg(DISTINCT (rid % 64)::integer) INTO v_slots FROM unnest(v_rids) AS rid;
        INSERT INTO ingest_budget_slot (budget_date, slot, used_g)
        SELECT p_today, s, 0 FROM unnest(v_slots) AS s ON CONFLICT DO NOTHING;
        PERFORM 1 FROM ingest_budget_slot b WHERE b.budget_date = p_today AND b.slot = ANY(v_slots)
         ORDER BY b.slot FOR UPDATE;
    END IF;
    PERFORM 1 FROM ledger_account a WHERE a.resident_id = ANY(v_rids) ORDER BY a.id FOR UPDATE;

    RETURN QUERY
    WITH input AS (
        SELECT x.*, COALESCE(x.resident_id, res.id) AS rid
          FROM jsonb_to_recordset(p_records) AS x(
                ord integer, resident_id bigint, resident_public_id uuid, client_id uuid, external_id text,
                behaviour_type text, category text, trip_group text, quantity numeric,
                reported_quantity numeric, reported_unit text, unit text, occurred_at timestamptz,
                ended_at timestamptz, local_date date, evidence jsonb, tier text, pending boolean,
                factor_version_id bigint, reduction_g_per_unit numeric, weight numeric, exact_g numeric,
                grams bigint, remainder_g numeric, daily_cap_g bigint, yearly_cap_g bigint,
                content_sha256 text)
          LEFT JOIN LATERAL (SELECT r.id FROM accounts_resident r WHERE r.public_id = x.resident_public_id LIMIT 1) res
            ON true
    ), looked_up AS (
        -- Per record, by index: the account, an earlier record of the same key, an overlapping trip.
        SELECT i.*, a.account_id, a.balance, a.frozen, COALESCE(sr.id, sp.id) AS seen_id,
               COALESCE(sr.status, sp.status) AS seen_status, COALESCE(sr.credited_g, sp.credited_g) AS seen_credited,
               COALESCE(sr.capped_g, sp.capped_g) AS seen_capped, COALESCE(sr.cap_reason, sp.cap_reason) AS seen_reason,
               COALESCE(sr.balance_after, sp.balance_after) AS seen_balance,
               COALESCE(sr.content_sha256, sp.content_sha256) AS seen_sha256,
               COALESCE(sr.duplicate_of_id, sp.duplicate_of_id) AS seen_related,
               o.id AS overlap_id, o.status AS overlap_status,
               min(i.ord) OVER (PARTITION BY COALESCE(i.client_id::text, i.external_id)) AS first_ord
          FROM input i
          LEFT JOIN LATERAL (
                SELECT la.id AS account_id, la.balance, r.frozen_at IS NOT NULL AS frozen FROM ledger_account la
                  JOIN accounts_resident r ON r.id = la.resident_id
                 WHERE la.resident_id = i.rid AND r.deleted_at IS NULL LIMIT 1) a ON true
          LEFT JOIN LATERAL (
                SELECT b.* FROM ingest_behaviour b
                 WHERE p_source = 'resident' AND b.resident_id = i.rid AND b.client_id = i.client_id LIMIT 1) sr ON true
          LEFT JOIN LATERAL (
                SELECT b.* FROM ingest_behaviour b
                 WHERE p_source = 'partner' AND b.partner_id = p_partner_id AND b.external_id = i.external_id LIMIT 1) sp
            ON true
          LEFT JOIN LATERAL (
                -- One trip is credited once: a resident's report never stands beside another record of
                -- the same trip; partner records are checked against residents' reports only.
                SELECT b.id, b.status FROM ingest_behaviour b
                 WHERE i.trip_group <> '' AND b.resident_id = i.rid AND b.trip_group = i.trip_group
                   AND b.status IN ('credited', 'capped', 'pending_review')
                   AND b.occurred_at < i.ended_at AND b.ended_at > i.occurred_at
                   -- no record lasts over a day: this bound keeps the probe to a day of the index
                   AND b.occurred_at > i.occurred_at - interval '1 day'
                   AND (p_source = 'resident' OR b.source = 'resident')
                 ORDER BY (b.status = 'pending_review'), b.id
                 LIMIT 1) o ON true
    ), decided AS (
        SELECT l.*,
               CASE WHEN l.account_id IS NULL THEN 'unknown_resident'
                    WHEN l.frozen THEN 'frozen'
                    WHEN l.seen_id IS NOT NULL THEN 'seen'
                    WHEN l.first_ord <> l.ord THEN 'repeated'
                    WHEN l.overlap_id IS NOT NULL AND p_source = 'resident' THEN 'duplicate_trip'
                    ELSE 'new' END AS fate,
               CASE WHEN l.overlap_id IS NOT NULL AND l.overlap_status <> 'pending_review' THEN 'duplicate'
                    WHEN l.pending THEN 'pending_review'
                    ELSE 'credited' END AS base_status
          FROM looked_up l
    ), day_step AS (
        -- Caps as running sums in record order; records that earn nothing contribute zero.
        SELECT d.*, (d.fate = 'new' AND d.base_status = 'credited') AS earns,
               GREATEST(d.daily_cap_g - COALESCE(ud.credited_g, 0), 0) AS day_left,
               GREATEST(d.yearly_cap_g - COALESCE(uy.credited_g, 0), 0) AS year_left,
               sum(CASE WHEN d.fate = 'new' AND d.base_status = 'credited' THEN d.grams ELSE 0 END)
                   OVER (PARTITION BY d.rid, d.behaviour_type, d.local_date ORDER BY d.ord) AS day_cum
          FROM decided d
          LEFT JOIN LATERAL (
                SELECT u.credited_g FROM ingest_cap_usage u
                 WHERE u.resident_id = d.rid AND u.behaviour_type = d.behaviour_type AND u.period = 'day'
                   AND u.period_start = d.local_date LIMIT 1) ud ON true
          LEFT JOIN LATERAL (
                SELECT u.credited_g FROM ingest_cap_usage u
                 WHERE u.resident_id = d.rid AND u.behaviour_type = d.behaviour_type AND u.period = 'year'
                   AND u.period_start = date_trunc('year', d.local_date)::date LIMIT 1) uy ON true
    ), year_step AS (
        SELECT y.*, sum(y.day_credit) OVER (PARTITION BY y.rid, y.behaviour_type, date_trunc('year', y.local_date)
                                            ORDER BY y.ord) AS year_cum
          FROM (SELECT s.*, CASE WHEN s.earns THEN LEAST(s.day_left, s.day_cum) - LEAST(s.day_left, s.day_cum - s.grams)
                                 ELSE 0 END AS day_credit
                  FROM day_step s) y
    ), budget_step AS (
        SELECT b.*, sum(b.year_credit) OVER (PARTITION BY b.rid % 64 ORDER BY b.rid, b.ord) AS budget_cum,
               GREATEST(p_budget_g / 64 + CASE WHEN b.rid % 64 = 0 THEN p_budget_g % 64 ELSE 0 END
                        - COALESCE(bs.used_g, 0), 0) AS budget_left
          FROM (SELECT y.*, CASE WHEN y.earns
                                 THEN LEAST(y.year_left, y.year_cum) - LEAST(y.year_left, y.year_cum - y.day_credit)
                                 ELSE 0 END AS year_credit
                  FROM year_step y) b
          LEFT JOIN LATERAL (
                SELECT x.used_g FROM ingest_budget_slot x
                 WHERE p_budget_g IS NOT NULL AND x.budget_date = p_today AND x.slot = b.rid % 64 LIMIT 1) bs ON true
    ), credited AS (
        SELECT c.*,
               CASE WHEN NOT c.earns THEN c.base_status WHEN c.credit < c.grams THEN 'capped' ELSE 'credited' END
                   AS final_status,
               CASE WHEN c.earns THEN c.grams - c.credit ELSE 0 END AS cut,
               CASE WHEN NOT c.earns OR c.credit >= c.grams THEN NULL
                    WHEN c.credit < c.year_credit THEN 'platform_budget'
                    WHEN c.year_credit < c.day_credit THEN 'yearly_cap'
                    ELSE 'daily_cap' END AS reason,
               c.balance + sum(c.credit) OVER (PARTITION BY c.account_id ORDER BY c.ord) AS new_balance,
               CASE WHEN c.fate = 'new' THEN nextval('ingest_behaviour_id_seq'::regclass) END AS new_id
          FROM (SELECT s.*, CASE WHEN NOT s.earns THEN 0
                                 WHEN p_budget_g IS NULL THEN s.year_credit
                                 ELSE LEAST(s.budget_left, s.budget_cum) - LEAST(s.budget_left, s.budget_cum - s.year_credit)
                            END AS credit
                  FROM budget_step s) c
    ), inserted AS (
        INSERT INTO ingest_behaviour AS b (
            id, resident_id, source, partner_id, client_id, external_id, behaviour_type, category, trip_group,
            quantity, reported_quantity, reported_unit, unit, occurred_at, ended_at, local_date, evidence,
            tier, status, factor_version_id, reduction_g_per_unit, weight, exact_g, grams, remainder_g,
            credited_g, capped_g, cap_reason, balance_after, duplicate_of_id, content_sha256)
        SELECT c.new_id, c.rid, p_source, p_partner_id, c.client_id, c.external_id, c.behaviour_type, c.category,
               c.trip_group, c.quantity, c.reported_quantity, c.reported_unit, c.unit, c.occurred_at,
               c.ended_at, c.local_date, c.evidence, c.tier, c.final_status, c.factor_version_id,
               c.reduction_g_per_unit, c.weight, c.exact_g, c.grams, c.remainder_g, c.credit, c.cut,
               c.reason, c.new_balance,
               CASE WHEN c.final_status = 'duplicate' THEN c.overlap_id END, decode(c.content_sha256, 'hex')
          FROM credited c
         WHERE c.fate = 'new'
        ON CONFLICT DO NOTHING
        RETURNING b.id, b.resident_id, b.credited_g, b.behaviour_type, b.local_date, b.factor_version_id
    ), inserted_ids AS (
        SELECT COALESCE(array_agg(b.id), '{}') AS ids FROM inserted b
    ), transfers AS (
        INSERT INTO ledger_transfer (kind, debit_account_id, credit_account_id, amount, behaviour_id, factor_version_id)
        SELECT 'issuance', p_issuance_accounts[1 + b.resident_id % array_length(p_issuance_accounts, 1)],
               a.id, b.credited_g, b.id, b.factor_version_id
          FROM inserted b
          JOIN LATERAL (SELECT la.id FROM ledger_account la WHERE la.resident_id = b.resident_id LIMIT 1) a ON true
         WHERE b.credited_g > 0
        RETURNING id, debit_account_id, credit_account_id, amount
    ), entries AS (
        INSERT INTO ledger_entry (transfer_id, account_id, amount)
        SELECT t.id, t.debit_account_id, -t.amount FROM transfers t
        UNION ALL
        SELECT t.id, t.credit_account_id, t.amount FROM transfers t
    ), balances AS (
        UPDATE ledger_account a SET balance = a.balance + s.total
          FROM (SELECT t.credit_account_id, sum(t.amount) AS total FROM transfers t GROUP BY t.credit_account_id) s
         WHERE a.id = s.credit_account_id
    ), usage AS (
        INSERT INTO ingest_cap_usage AS u (resident_id, behaviour_type, period, period_start, credited_g)
        SELECT b.resident_id, b.behaviour_type, 'day', b.local_date, sum(b.credited_g)
          FROM inserted b WHERE b.credited_g > 0 GROUP BY b.resident_id, b.behaviour_type, b.local_date
        UNION ALL
        SELECT b.resident_id, b.behaviour_type, 'year', date_trunc('year', b.local_date)::date, sum(b.credited_g)
          FROM inserted b WHERE b.credited_g > 0
         GROUP BY b.resident_id, b.behaviour_type, date_trunc('year', b.local_date)
        ON CONFLICT (resident_id, behaviour_type, period, period_start)
        DO UPDATE SET credited_g = u.credited_g + EXCLUDED.credited_g
    ), budget AS (
        UPDATE ingest_budget_slot bs SET used_g = bs.used_g + s.total
          FROM (SELECT (b.resident_id % 64)::integer AS slot, sum(b.credited_g) AS total
                  FROM inserted b WHERE b.credited_g > 0 GROUP BY 1) s
         WHERE p_budget_g IS NOT NULL AND bs.budget_date = p_today AND bs.slot = s.slot
    ), superseded AS (
        -- A partner record supersedes a resident's report of the same trip still pending review.
        UPDATE ingest_behaviour p SET status = 'superseded', duplicate_of_id = c.new_id
          FROM credited c, inserted_ids n
         WHERE p_source = 'partner' AND c.fate = 'new' AND c.overlap_status = 'pending_review'
           AND c.final_status IN ('credited', 'capped') AND c.new_id = ANY(n.ids)
           AND p.id = c.overlap_id AND p.status = 'pending_review'
    ), answered AS (
        -- A key repeated within the batch answers with the result of its first record.
        SELECT c.*, c.new_id = ANY(n.ids) AS stored, fo.new_id AS first_id, fo.final_status AS first_status,
               fo.credit AS first_credit, fo.cut AS first_cut, fo.reason AS first_reason,
               fo.new_balance AS first_balance, fo.content_sha256 AS first_sha256
          FROM credited c
         CROSS JOIN inserted_ids n
          LEFT JOIN LATERAL (SELECT f.* FROM credited f WHERE c.fate = 'repeated' AND f.ord = c.first_ord) fo ON true
    )
    SELECT a.ord::integer,
           (CASE WHEN a.fate = 'unknown_resident' THEN 'unknown_resident'
                 WHEN a.fate = 'frozen' THEN 'frozen'
                 WHEN a.fate IN ('seen', 'repeated') THEN 'replay'
                 WHEN a.fate = 'duplicate_trip' THEN 'duplicate_trip'
                 WHEN NOT a.stored THEN 'key_race'
                 ELSE 'recorded' END)::text,
           (CASE WHEN a.fate = 'seen' THEN a.seen_id WHEN a.fate = 'repeated' THEN a.first_id
                 WHEN a.fate = 'new' THEN a.new_id END)::bigint,
           (CASE WHEN a.fate = 'seen' THEN a.seen_status WHEN a.fate = 'repeated' THEN a.first_status
                 ELSE a.final_status END)::text,
           (CASE WHEN a.fate = 'seen' THEN a.seen_credited WHEN a.fate = 'repeated' THEN a.first_credit
                 ELSE a.credit END)::bigint,
           (CASE WHEN a.fate = 'seen' THEN a.seen_capped WHEN a.fate = 'repeated' THEN a.first_cut
                 ELSE a.cut END)::bigint,
           (CASE WHEN a.fate = 'seen' THEN a.seen_reason WHEN a.fate = 'repeated' THEN a.first_reason
                 ELSE a.reason END)::text,
           (CASE WHEN a.fate = 'seen' THEN a.seen_balance WHEN a.fate = 'repeated' THEN a.first_balance
                 ELSE a.new_balance END)::bigint,
           CASE WHEN a.fate = 'seen' THEN a.seen_sha256
                WHEN a.fate = 'repeated' THEN decode(a.first_sha256, 'hex')
                ELSE decode(a.content_sha256, 'hex') END,
           (CASE WHEN a.fate = 'seen' THEN a.seen_related ELSE a.overlap_id END)::bigint,
           NULL::double precision
      FROM answered a
     ORDER BY a.ord;
END $$;
