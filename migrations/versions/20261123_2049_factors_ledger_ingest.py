"""Factors, ledger and ingest: factor versions, the double-entry ledger, behaviours, caps, the hot path.

The SQL that guards the ledger is written out below as SQL:
- append-only triggers on ledger_transfer and ledger_entry (UPDATE, DELETE and TRUNCATE refused), and
  factor_version immutability;
- a ledger account opened for every resident by trigger; the system accounts seeded;
- kit_rate_limit_take(): the GCRA rate-limit step, shared by Python callers and ingest_record_batch();
- ingest_record_batch(): the hot path. One call records one behaviour or a partner batch: idempotency,
  trip de-duplication, caps, the issuance transfer with its two entries and the resident's balance, all
  in the caller's transaction, with row locks taken in one global order (budget slot, then resident id)
  so that concurrent batches cannot deadlock.

Revision ID: 0002_factors_ledger_ingest
Revises: 0001_accounts
Create Date: 2026-11-23 20:49:51
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from service.db import execute_script

revision: str = "0002_factors_ledger_ingest"
down_revision: str | None = "0001_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SYSTEM_ACCOUNTS = (*(f"issuance:{i}" for i in range(16)), "redeemed", "retired", "expired")

APPEND_ONLY = """
CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END $$;

CREATE TRIGGER ledger_transfer_append_only BEFORE UPDATE OR DELETE ON ledger_transfer
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_transfer_no_truncate BEFORE TRUNCATE ON ledger_transfer
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_entry_append_only BEFORE UPDATE OR DELETE ON ledger_entry
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_entry_no_truncate BEFORE TRUNCATE ON ledger_entry
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER factor_version_immutable BEFORE UPDATE OR DELETE ON factor_version
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER factor_version_no_truncate BEFORE TRUNCATE ON factor_version
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
"""

DROP_APPEND_ONLY = """
DROP TRIGGER factor_version_no_truncate ON factor_version;
DROP TRIGGER factor_version_immutable ON factor_version;
DROP TRIGGER ledger_entry_no_truncate ON ledger_entry;
DROP TRIGGER ledger_entry_append_only ON ledger_entry;
DROP TRIGGER ledger_transfer_no_truncate ON ledger_transfer;
DROP TRIGGER ledger_transfer_append_only ON ledger_transfer;
DROP FUNCTION ledger_refuse_change();
"""

RESIDENT_ACCOUNT = """
CREATE FUNCTION ledger_open_resident_account() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ledger_account (kind, resident_id) VALUES ('resident', NEW.id);
    RETURN NEW;
END $$;

CREATE TRIGGER accounts_resident_ledger_account AFTER INSERT ON accounts_resident
    FOR EACH ROW EXECUTE FUNCTION ledger_open_resident_account();

INSERT INTO ledger_account (kind, resident_id) SELECT 'resident', id FROM accounts_resident;
"""

DROP_RESIDENT_ACCOUNT = """
DROP TRIGGER accounts_resident_ledger_account ON accounts_resident;
DROP FUNCTION ledger_open_resident_account();
"""

RATE_LIMIT_TAKE = """
CREATE FUNCTION kit_rate_limit_take(p_key text, p_interval interval, p_burst interval)
RETURNS double precision LANGUAGE plpgsql AS $$
-- GCRA: allowed when max(tat, now) + interval - burst <= now. Returns 0 when allowed, else seconds to wait.
DECLARE
    v_tat timestamptz;
BEGIN
    INSERT INTO kit_rate_limit_bucket AS b (bucket_key, tat)
    VALUES (p_key, clock_timestamp() + p_interval)
    ON CONFLICT (bucket_key) DO UPDATE
       SET tat = GREATEST(b.tat, clock_timestamp()) + p_interval
     WHERE GREATEST(b.tat, clock_timestamp()) + p_interval - p_burst <= clock_timestamp()
    RETURNING tat INTO v_tat;
    IF FOUND THEN
        RETURN 0;
    END IF;
    SELECT tat INTO v_tat FROM kit_rate_limit_bucket WHERE bucket_key = p_key;
    RETURN GREATEST(EXTRACT(EPOCH FROM GREATEST(v_tat, clock_timestamp()) + p_interval - p_burst - clock_timestamp()), 0.001);
END $$;
"""

DROP_RATE_LIMIT_TAKE = "DROP FUNCTION kit_rate_limit_take(text, interval, interval);"

# Steps shared by recording and by review approval, so that caps and posting exist once.
CREDIT_STEPS = """
CREATE FUNCTION ingest_lock_budget(p_today date, p_slot integer, p_budget_g bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
-- Locks this slot's row of today's budget and returns what it still allows (NULL: no budget).
DECLARE
    v_used bigint;
BEGIN
    IF p_budget_g IS NULL THEN
        RETURN NULL;
    END IF;
    INSERT INTO ingest_budget_slot (budget_date, slot, used_g) VALUES (p_today, p_slot, 0) ON CONFLICT DO NOTHING;
    SELECT used_g INTO v_used FROM ingest_budget_slot WHERE budget_date = p_today AND slot = p_slot FOR UPDATE;
    RETURN p_budget_g / 64 + CASE WHEN p_slot = 0 THEN p_budget_g % 64 ELSE 0 END - v_used;
END $$;

CREATE FUNCTION ingest_allowed_credit(
    p_resident_id bigint, p_type text, p_local_date date, p_grams bigint, p_daily_cap bigint,
    p_yearly_cap bigint, p_budget_left bigint, OUT credit bigint, OUT reason text
) LANGUAGE plpgsql STABLE AS $$
-- The caps, as service.factors.conversion.apply_caps states them: the tightest limit names the reason.
-- Call with the resident's account locked, so that usage cannot change underneath.
DECLARE
    v_day_used bigint;
    v_year_used bigint;
BEGIN
    SELECT COALESCE(max(u.credited_g) FILTER (WHERE u.period = 'day'), 0),
           COALESCE(max(u.credited_g) FILTER (WHERE u.period = 'year'), 0)
      INTO v_day_used, v_year_used
      FROM ingest_cap_usage u
     WHERE u.resident_id = p_resident_id AND u.behaviour_type = p_type
       AND ((u.period = 'day' AND u.period_start = p_local_date)
         OR (u.period = 'year' AND u.period_start = date_trunc('year', p_local_date)::date));
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

CREATE FUNCTION ledger_post_issuance(
    p_resident_id bigint, p_account bigint, p_issuance bigint, p_amount bigint, p_behaviour_id bigint,
    p_factor_version_id bigint, p_type text, p_local_date date, p_today date, p_budget_slot integer
) RETURNS bigint LANGUAGE plpgsql AS $$
-- One issuance: the transfer, its two entries, the resident's balance, cap usage and budget use.
DECLARE
    v_transfer bigint;
BEGIN
    INSERT INTO ledger_transfer (kind, debit_account_id, credit_account_id, amount, behaviour_id, factor_version_id)
    VALUES ('issuance', p_issuance, p_account, p_amount, p_behaviour_id, p_factor_version_id)
    RETURNING id INTO v_transfer;
    INSERT INTO ledger_entry (transfer_id, account_id, amount)
    VALUES (v_transfer, p_issuance, -p_amount), (v_transfer, p_account, p_amount);
    UPDATE ledger_account SET balance = balance + p_amount WHERE id = p_account;
    INSERT INTO ingest_cap_usage AS u (resident_id, behaviour_type, period, period_start, credited_g)
    VALUES (p_resident_id, p_type, 'day', p_local_date, p_amount),
           (p_resident_id, p_type, 'year', date_trunc('year', p_local_date)::date, p_amount)
    ON CONFLICT (resident_id, behaviour_type, period, period_start)
    DO UPDATE SET credited_g = u.credited_g + EXCLUDED.credited_g;
    IF p_budget_slot IS NOT NULL THEN
        UPDATE ingest_budget_slot SET used_g = used_g + p_amount WHERE budget_date = p_today AND slot = p_budget_slot;
    END IF;
    RETURN v_transfer;
END $$;
"""

DROP_CREDIT_STEPS = """
DROP FUNCTION ledger_post_issuance(bigint, bigint, bigint, bigint, bigint, bigint, text, date, date, integer);
DROP FUNCTION ingest_allowed_credit(bigint, text, date, bigint, bigint, bigint, bigint);
DROP FUNCTION ingest_lock_budget(date, integer, bigint);
"""

# Each element of p_records (jsonb array) is one behaviour, prepared by service.ingest:
#   ord, resident_id | resident_public_id, client_id | external_id, behaviour_type, category, trip_group,
#   quantity, reported_quantity, reported_unit, unit, occurred_at, ended_at, local_date, evidence, tier,
#   pending, factor_version_id, reduction_g_per_unit, weight, exact_g, grams, remainder_g, daily_cap_g,
#   yearly_cap_g, content_sha256 (hex)
# Outcomes: recorded (see status); replay (the key exists, in the ledger or earlier in this batch: its
# result and content hash); duplicate_trip (a resident's report overlapping a trip already recorded:
# nothing stored); unknown_resident; rate_limited; key_race (a concurrent transaction stored the key
# first: the caller reads it back).
#
# Set-based, so that a batch costs a few statements whatever its size:
# 1. lock, in one global order, this batch's budget slots (sorted) and then its residents' accounts
#    (sorted by id); every later statement takes a fresh snapshot that sees all that committed before;
# 2. one statement decides each record (key seen? trip already recorded?), applies the caps with
#    running sums — credit = min(grams, day left, year left, budget left) in record order, the same
#    rule as service.factors.conversion.apply_caps — and writes behaviours, transfers, entries,
#    balances, cap usage and budget use.
RECORD_BATCH = """
CREATE FUNCTION ingest_record_batch(
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
        SELECT i.*, a.account_id, a.balance, COALESCE(sr.id, sp.id) AS seen_id,
               COALESCE(sr.status, sp.status) AS seen_status, COALESCE(sr.credited_g, sp.credited_g) AS seen_credited,
               COALESCE(sr.capped_g, sp.capped_g) AS seen_capped, COALESCE(sr.cap_reason, sp.cap_reason) AS seen_reason,
               COALESCE(sr.balance_after, sp.balance_after) AS seen_balance,
               COALESCE(sr.content_sha256, sp.content_sha256) AS seen_sha256,
               COALESCE(sr.duplicate_of_id, sp.duplicate_of_id) AS seen_related,
               o.id AS overlap_id, o.status AS overlap_status,
               min(i.ord) OVER (PARTITION BY COALESCE(i.client_id::text, i.external_id)) AS first_ord
          FROM input i
          LEFT JOIN LATERAL (
                SELECT la.id AS account_id, la.balance FROM ledger_account la
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
"""

DROP_RECORD_BATCH = (
    "DROP FUNCTION ingest_record_batch(jsonb, text, bigint, bigint[], date, bigint, text, interval, interval);"
)

# An operator's decision on a report held for review. Approval credits it now, under the caps of the
# day it happened, through the same steps as recording.
REVIEW = """
CREATE FUNCTION ingest_review(
    p_behaviour_id bigint, p_approve boolean, p_actor text, p_reason text, p_issuance_accounts bigint[],
    p_today date, p_budget_g bigint
) RETURNS TABLE (outcome text, status text, credited_g bigint, capped_g bigint, balance_after bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_rid bigint;
    b record;
    v_account bigint;
    v_balance bigint;
    v_budget_left bigint;
    v_credit bigint := 0;
    v_reason text;
    v_status text;
BEGIN
    SELECT resident_id INTO v_rid FROM ingest_behaviour WHERE id = p_behaviour_id;
    IF NOT FOUND THEN
        outcome := 'not_found'; RETURN NEXT; RETURN;
    END IF;
    v_budget_left := CASE WHEN p_approve THEN ingest_lock_budget(p_today, (v_rid % 64)::integer, p_budget_g) END;
    SELECT a.id, a.balance INTO v_account, v_balance FROM ledger_account a WHERE a.resident_id = v_rid FOR UPDATE;
    SELECT * INTO b FROM ingest_behaviour WHERE id = p_behaviour_id FOR UPDATE;
    IF b.status <> 'pending_review' THEN
        outcome := 'not_pending'; status := b.status; RETURN NEXT; RETURN;
    END IF;
    IF NOT p_approve THEN
        v_status := 'rejected';
    ELSE
        SELECT c.credit, c.reason INTO v_credit, v_reason
          FROM factor_version f,
               ingest_allowed_credit(v_rid, b.behaviour_type, b.local_date, b.grams,
                   (f.content #>> ARRAY['behaviour', b.behaviour_type, 'caps', 'daily_g'])::bigint,
                   (f.content #>> ARRAY['behaviour', b.behaviour_type, 'caps', 'yearly_g'])::bigint,
                   v_budget_left) AS c
         WHERE f.id = b.factor_version_id;
        v_status := CASE WHEN v_credit < b.grams THEN 'capped' ELSE 'credited' END;
    END IF;
    UPDATE ingest_behaviour
       SET status = v_status, credited_g = v_credit,
           capped_g = CASE WHEN v_status = 'rejected' THEN 0 ELSE b.grams - v_credit END,
           cap_reason = v_reason, balance_after = v_balance + v_credit,
           reviewed_by = p_actor, reviewed_at = now(), review_reason = p_reason
     WHERE id = p_behaviour_id;
    IF v_credit > 0 THEN
        PERFORM ledger_post_issuance(
            v_rid, v_account, p_issuance_accounts[1 + v_rid % array_length(p_issuance_accounts, 1)], v_credit,
            p_behaviour_id, b.factor_version_id, b.behaviour_type, b.local_date, p_today,
            CASE WHEN p_budget_g IS NOT NULL THEN (v_rid % 64)::integer END);
    END IF;
    outcome := 'decided'; status := v_status; credited_g := v_credit;
    capped_g := CASE WHEN v_status = 'rejected' THEN 0 ELSE b.grams - v_credit END;
    balance_after := v_balance + v_credit;
    RETURN NEXT;
END $$;
"""

DROP_REVIEW = "DROP FUNCTION ingest_review(bigint, boolean, text, text, bigint[], date, bigint);"


def upgrade() -> None:
    op.create_table(
        "factor_version",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("set_code", sa.Text(), nullable=False),
        sa.Column("version", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_on", sa.Date(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("published_by", sa.Text(), nullable=False),
        sa.Column("source_text", sa.Text(), nullable=False),
        sa.Column("content", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("content_sha256", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_factor_version")),
        sa.UniqueConstraint("set_code", "version", name=op.f("uq_factor_version_set_code_version")),
    )
    op.create_table(
        "ingest_budget_slot",
        sa.Column("budget_date", sa.Date(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("used_g", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("budget_date", "slot", name=op.f("pk_ingest_budget_slot")),
    )
    op.create_table(
        "ingest_cap_usage",
        sa.Column("resident_id", sa.BigInteger(), nullable=False),
        sa.Column("behaviour_type", sa.Text(), nullable=False),
        sa.Column("period", sa.Text(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("credited_g", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("period IN ('day', 'year')", name=op.f("ck_ingest_cap_usage_period")),
        sa.PrimaryKeyConstraint(
            "resident_id", "behaviour_type", "period", "period_start", name=op.f("pk_ingest_cap_usage")
        ),
    )
    op.create_table(
        "ingest_behaviour",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("resident_id", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("partner_id", sa.BigInteger(), nullable=True),
        sa.Column("client_id", sa.UUID(), nullable=True),
        sa.Column("external_id", sa.Text(), nullable=True),
        sa.Column("behaviour_type", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=True),
        sa.Column("trip_group", sa.Text(), nullable=False),
        sa.Column("quantity", sa.Numeric(), nullable=False),
        sa.Column("reported_quantity", sa.Numeric(), nullable=False),
        sa.Column("reported_unit", sa.Text(), nullable=False),
        sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("evidence", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("tier", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("factor_version_id", sa.BigInteger(), nullable=False),
        sa.Column("reduction_g_per_unit", sa.Numeric(), nullable=False),
        sa.Column("weight", sa.Numeric(), nullable=False),
        sa.Column("exact_g", sa.Numeric(), nullable=False),
        sa.Column("grams", sa.BigInteger(), nullable=False),
        sa.Column("remainder_g", sa.Numeric(), nullable=False),
        sa.Column("credited_g", sa.BigInteger(), nullable=False),
        sa.Column("capped_g", sa.BigInteger(), nullable=False),
        sa.Column("cap_reason", sa.Text(), nullable=True),
        sa.Column("balance_after", sa.BigInteger(), nullable=True),
        sa.Column("duplicate_of_id", sa.BigInteger(), nullable=True),
        sa.Column("content_sha256", sa.LargeBinary(), nullable=False),
        sa.Column("reviewed_by", sa.Text(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "(source = 'resident') = (client_id IS NOT NULL) AND (source = 'partner') = (partner_id IS NOT NULL AND external_id IS NOT NULL)",
            name=op.f("ck_ingest_behaviour_idempotency_key"),
        ),
        sa.CheckConstraint("source IN ('resident', 'partner')", name=op.f("ck_ingest_behaviour_source")),
        sa.CheckConstraint(
            "status IN ('credited', 'capped', 'pending_review', 'rejected', 'duplicate', 'superseded')",
            name=op.f("ck_ingest_behaviour_status"),
        ),
        sa.CheckConstraint("tier IN ('partner', 'evidence', 'self')", name=op.f("ck_ingest_behaviour_tier")),
        sa.CheckConstraint(
            "credited_g >= 0 AND capped_g >= 0 AND credited_g + capped_g <= grams",
            name=op.f("ck_ingest_behaviour_amounts"),
        ),
        sa.CheckConstraint("ended_at >= occurred_at", name=op.f("ck_ingest_behaviour_interval")),
        sa.ForeignKeyConstraint(
            ["duplicate_of_id"],
            ["ingest_behaviour.id"],
            name=op.f("fk_ingest_behaviour_duplicate_of_id_ingest_behaviour"),
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["accounts_partner.id"], name=op.f("fk_ingest_behaviour_partner_id_accounts_partner")
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["accounts_resident.id"], name=op.f("fk_ingest_behaviour_resident_id_accounts_resident")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_behaviour")),
        sa.UniqueConstraint("partner_id", "external_id", name=op.f("uq_ingest_behaviour_partner_id_external_id")),
        sa.UniqueConstraint("resident_id", "client_id", name=op.f("uq_ingest_behaviour_resident_id_client_id")),
    )
    op.create_index(
        "ix_ingest_behaviour_pending",
        "ingest_behaviour",
        ["id"],
        unique=False,
        postgresql_where="status = 'pending_review'",
    )
    op.create_index("ix_ingest_behaviour_resident_id_id", "ingest_behaviour", ["resident_id", "id"], unique=False)
    op.create_index(
        "ix_ingest_behaviour_trip", "ingest_behaviour", ["resident_id", "trip_group", "occurred_at"], unique=False
    )
    op.create_table(
        "ledger_account",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("resident_id", sa.BigInteger(), nullable=True),
        sa.Column("enterprise_id", sa.BigInteger(), nullable=True),
        sa.Column("code", sa.Text(), nullable=True),
        sa.Column("balance", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "(kind = 'resident') = (resident_id IS NOT NULL) AND (kind = 'enterprise') = (enterprise_id IS NOT NULL) AND (kind = 'system') = (code IS NOT NULL)",
            name=op.f("ck_ledger_account_one_owner"),
        ),
        sa.CheckConstraint("kind <> 'system' OR balance = 0", name=op.f("ck_ledger_account_system_balance_derived")),
        sa.CheckConstraint("kind = 'system' OR balance >= 0", name=op.f("ck_ledger_account_never_negative")),
        sa.CheckConstraint("kind IN ('resident', 'enterprise', 'system')", name=op.f("ck_ledger_account_kind")),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["accounts_enterprise.id"],
            name=op.f("fk_ledger_account_enterprise_id_accounts_enterprise"),
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["accounts_resident.id"], name=op.f("fk_ledger_account_resident_id_accounts_resident")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_account")),
        sa.UniqueConstraint("code", name=op.f("uq_ledger_account_code")),
        sa.UniqueConstraint("enterprise_id", name=op.f("uq_ledger_account_enterprise_id")),
        sa.UniqueConstraint("resident_id", name=op.f("uq_ledger_account_resident_id")),
    )
    op.create_table(
        "ledger_transfer",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("debit_account_id", sa.BigInteger(), nullable=False),
        sa.Column("credit_account_id", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("behaviour_id", sa.BigInteger(), nullable=True),
        sa.Column("factor_version_id", sa.BigInteger(), nullable=True),
        sa.Column("reverses_transfer_id", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("actor", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "kind <> 'issuance' OR (behaviour_id IS NOT NULL AND factor_version_id IS NOT NULL)",
            name=op.f("ck_ledger_transfer_issuance_traceable"),
        ),
        sa.CheckConstraint(
            "kind <> 'reversal' OR (reverses_transfer_id IS NOT NULL AND reason IS NOT NULL)",
            name=op.f("ck_ledger_transfer_reversal_linked"),
        ),
        sa.CheckConstraint(
            "kind IN ('issuance', 'reversal', 'redemption', 'refund', 'retirement', 'expiry', 'transfer')",
            name=op.f("ck_ledger_transfer_kind"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_ledger_transfer_positive")),
        sa.CheckConstraint("debit_account_id <> credit_account_id", name=op.f("ck_ledger_transfer_two_accounts")),
        sa.ForeignKeyConstraint(
            ["behaviour_id"], ["ingest_behaviour.id"], name=op.f("fk_ledger_transfer_behaviour_id_ingest_behaviour")
        ),
        sa.ForeignKeyConstraint(
            ["reverses_transfer_id"],
            ["ledger_transfer.id"],
            name=op.f("fk_ledger_transfer_reverses_transfer_id_ledger_transfer"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_transfer")),
        sa.UniqueConstraint("reverses_transfer_id", name=op.f("uq_ledger_transfer_reverses_transfer_id")),
    )
    op.create_index("ix_ledger_transfer_behaviour_id", "ledger_transfer", ["behaviour_id"], unique=False)
    op.create_table(
        "ledger_entry",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("transfer_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("amount <> 0", name=op.f("ck_ledger_entry_nonzero")),
        sa.ForeignKeyConstraint(
            ["transfer_id"], ["ledger_transfer.id"], name=op.f("fk_ledger_entry_transfer_id_ledger_transfer")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entry")),
    )
    op.create_index("ix_ledger_entry_account_id_id", "ledger_entry", ["account_id", "id"], unique=False)
    op.create_index("ix_ledger_entry_transfer_id", "ledger_entry", ["transfer_id"], unique=False)

    execute_script(op.get_bind(), APPEND_ONLY)
    execute_script(op.get_bind(), RESIDENT_ACCOUNT)
    execute_script(op.get_bind(), RATE_LIMIT_TAKE)
    execute_script(op.get_bind(), CREDIT_STEPS)
    execute_script(op.get_bind(), RECORD_BATCH)
    execute_script(op.get_bind(), REVIEW)
    accounts = sa.table("ledger_account", sa.column("kind"), sa.column("code"))
    op.bulk_insert(accounts, [{"kind": "system", "code": code} for code in SYSTEM_ACCOUNTS])


def downgrade() -> None:
    execute_script(op.get_bind(), DROP_REVIEW)
    execute_script(op.get_bind(), DROP_RECORD_BATCH)
    execute_script(op.get_bind(), DROP_CREDIT_STEPS)
    execute_script(op.get_bind(), DROP_RATE_LIMIT_TAKE)
    execute_script(op.get_bind(), DROP_RESIDENT_ACCOUNT)
    execute_script(op.get_bind(), DROP_APPEND_ONLY)
    op.drop_index("ix_ledger_entry_transfer_id", table_name="ledger_entry")
    op.drop_index("ix_ledger_entry_account_id_id", table_name="ledger_entry")
    op.drop_table("ledger_entry")
    op.drop_index("ix_ledger_transfer_behaviour_id", table_name="ledger_transfer")
    op.drop_table("ledger_transfer")
    op.drop_table("ledger_account")
    op.drop_index("ix_ingest_behaviour_trip", table_name="ingest_behaviour")
    op.drop_index("ix_ingest_behaviour_resident_id_id", table_name="ingest_behaviour")
    op.drop_index(
        "ix_ingest_behaviour_pending", table_name="ingest_behaviour", postgresql_where="status = 'pending_review'"
    )
    op.drop_table("ingest_behaviour")
    op.drop_table("ingest_cap_usage")
    op.drop_table("ingest_budget_slot")
    op.drop_table("factor_version")
