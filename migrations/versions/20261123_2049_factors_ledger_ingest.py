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
) LANGUAGE plpgsql AS $$
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

    SELECT array_agg(DISTINCT COALESCE(x.resident_id, res.id)) FILTER (WHERE COALESCE(x.resident_id, res.id) IS NOT NULL)
      INTO v_rids
      FROM jsonb_to_recordset(p_records) AS x(resident_id bigint, resident_public_id uuid)
      LEFT JOIN accounts_resident res ON res.public_id = x.resident_public_id;

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
          LEFT JOIN accounts_resident res ON res.public_id = x.resident_public_id
    ), account AS (
        SELECT i.ord, a.id AS account_id, a.balance
          FROM input i
          JOIN ledger_account a ON a.resident_id = i.rid
          JOIN accounts_resident r ON r.id = i.rid AND r.deleted_at IS NULL
    ), seen AS (
        SELECT i.ord, b.id, b.status, b.credited_g, b.capped_g, b.cap_reason, b.balance_after,
               b.content_sha256, b.duplicate_of_id
          FROM input i JOIN ingest_behaviour b ON b.resident_id = i.rid AND b.client_id = i.client_id
         WHERE p_source = 'resident'
        UNION ALL
        SELECT i.ord, b.id, b.status, b.credited_g, b.capped_g, b.cap_reason, b.balance_after,
               b.content_sha256, b.duplicate_of_id
          FROM input i JOIN ingest_behaviour b ON b.partner_id = p_partner_id AND b.external_id = i.external_id
         WHERE p_source = 'partner'
    ), first_of_key AS (
        SELECT i.ord, min(i.ord) OVER (PARTITION BY COALESCE(i.client_id::text, i.external_id)) AS first_ord
          FROM input i
    ), overlap AS (
        -- One trip is credited once: a resident's report never stands beside another record of the same
        -- trip; partner records are checked against residents' reports only.
        SELECT DISTINCT ON (i.ord) i.ord, b.id, b.status
          FROM input i
          JOIN ingest_behaviour b
            ON b.resident_id = i.rid AND b.trip_group = i.trip_group
           AND b.status IN ('credited', 'capped', 'pending_review')
           AND b.occurred_at < i.ended_at AND b.ended_at > i.occurred_at
           AND (p_source = 'resident' OR b.source = 'resident')
         WHERE i.trip_group <> ''
         ORDER BY i.ord, (b.status = 'pending_review'), b.id
    ), decided AS (
        SELECT i.*, a.account_id, a.balance, s.id AS seen_id, o.id AS overlap_id, o.status AS overlap_status,
               CASE WHEN a.account_id IS NULL THEN 'unknown_resident'
                    WHEN s.id IS NOT NULL THEN 'seen'
                    WHEN k.first_ord <> i.ord THEN 'repeated'
                    WHEN o.id IS NOT NULL AND p_source = 'resident' THEN 'duplicate_trip'
                    ELSE 'new' END AS fate,
               CASE WHEN o.id IS NOT NULL AND o.status <> 'pending_review' THEN 'duplicate'
                    WHEN i.pending THEN 'pending_review'
                    ELSE 'credited' END AS base_status
          FROM input i
          LEFT JOIN account a ON a.ord = i.ord
          LEFT JOIN seen s ON s.ord = i.ord
          LEFT JOIN first_of_key k ON k.ord = i.ord
          LEFT JOIN overlap o ON o.ord = i.ord
    ), eligible AS (
        SELECT d.ord, d.rid, d.grams,
               GREATEST(d.daily_cap_g - COALESCE(ud.credited_g, 0), 0) AS day_left,
               GREATEST(d.yearly_cap_g - COALESCE(uy.credited_g, 0), 0) AS year_left,
               sum(d.grams) OVER (PARTITION BY d.rid, d.behaviour_type, d.local_date ORDER BY d.ord) AS day_cum,
               d.behaviour_type, date_trunc('year', d.local_date) AS year_start
          FROM decided d
          LEFT JOIN ingest_cap_usage ud
            ON ud.resident_id = d.rid AND ud.behaviour_type = d.behaviour_type AND ud.period = 'day'
           AND ud.period_start = d.local_date
          LEFT JOIN ingest_cap_usage uy
            ON uy.resident_id = d.rid AND uy.behaviour_type = d.behaviour_type AND uy.period = 'year'
           AND uy.period_start = date_trunc('year', d.local_date)::date
         WHERE d.fate = 'new' AND d.base_status = 'credited'
    ), after_day AS (
        SELECT e.*, LEAST(e.day_left, e.day_cum) - LEAST(e.day_left, e.day_cum - e.grams) AS day_credit
          FROM eligible e
    ), after_year AS (
        SELECT y.*, LEAST(y.year_left, y.year_cum) - LEAST(y.year_left, y.year_cum - y.day_credit) AS year_credit
          FROM (SELECT a.*, sum(a.day_credit) OVER (PARTITION BY a.rid, a.behaviour_type, a.year_start ORDER BY a.ord)
                       AS year_cum
                  FROM after_day a) y
    ), capped AS (
        SELECT c.ord,
               CASE WHEN p_budget_g IS NULL THEN c.year_credit
                    ELSE LEAST(c.budget_left, c.budget_cum) - LEAST(c.budget_left, c.budget_cum - c.year_credit)
               END AS credit,
               c.day_credit, c.year_credit, c.grams
          FROM (SELECT y.*,
                       sum(y.year_credit) OVER (PARTITION BY y.rid % 64 ORDER BY y.rid, y.ord) AS budget_cum,
                       GREATEST(p_budget_g / 64 + CASE WHEN y.rid % 64 = 0 THEN p_budget_g % 64 ELSE 0 END
                                - COALESCE(bs.used_g, 0), 0) AS budget_left
                  FROM after_year y
                  LEFT JOIN ingest_budget_slot bs ON bs.budget_date = p_today AND bs.slot = y.rid % 64) c
    ), outcome AS (
        SELECT d.*,
               CASE WHEN c.ord IS NULL THEN d.base_status
                    WHEN c.credit < d.grams THEN 'capped' ELSE 'credited' END AS final_status,
               COALESCE(c.credit, 0) AS credit,
               CASE WHEN c.ord IS NULL THEN 0 ELSE d.grams - c.credit END AS cut,
               CASE WHEN c.ord IS NULL OR c.credit >= c.grams THEN NULL
                    WHEN c.credit < c.year_credit THEN 'platform_budget'
                    WHEN c.year_credit < c.day_credit THEN 'yearly_cap'
                    ELSE 'daily_cap' END AS reason,
               d.balance + sum(COALESCE(c.credit, 0)) OVER (PARTITION BY d.account_id ORDER BY d.ord) AS new_balance
          FROM decided d LEFT JOIN capped c ON c.ord = d.ord
         WHERE d.fate = 'new'
    ), inserted AS (
        INSERT INTO ingest_behaviour AS b (
            resident_id, source, partner_id, client_id, external_id, behaviour_type, category, trip_group,
            quantity, reported_quantity, reported_unit, unit, occurred_at, ended_at, local_date, evidence,
            tier, status, factor_version_id, reduction_g_per_unit, weight, exact_g, grams, remainder_g,
            credited_g, capped_g, cap_reason, balance_after, duplicate_of_id, content_sha256)
        SELECT o.rid, p_source, p_partner_id, o.client_id, o.external_id, o.behaviour_type, o.category,
               o.trip_group, o.quantity, o.reported_quantity, o.reported_unit, o.unit, o.occurred_at,
               o.ended_at, o.local_date, o.evidence, o.tier, o.final_status, o.factor_version_id,
               o.reduction_g_per_unit, o.weight, o.exact_g, o.grams, o.remainder_g, o.credit, o.cut,
               o.reason, o.new_balance,
               CASE WHEN o.final_status = 'duplicate' THEN o.overlap_id END, decode(o.content_sha256, 'hex')
          FROM outcome o
         ORDER BY o.ord
        ON CONFLICT DO NOTHING
        RETURNING b.id, b.resident_id, b.client_id, b.external_id, b.credited_g, b.behaviour_type,
                  b.local_date, b.factor_version_id
    ), transfers AS (
        INSERT INTO ledger_transfer (kind, debit_account_id, credit_account_id, amount, behaviour_id, factor_version_id)
        SELECT 'issuance', p_issuance_accounts[1 + b.resident_id % array_length(p_issuance_accounts, 1)],
               a.id, b.credited_g, b.id, b.factor_version_id
          FROM inserted b JOIN ledger_account a ON a.resident_id = b.resident_id
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
        UPDATE ingest_behaviour p SET status = 'superseded', duplicate_of_id = b.id
          FROM outcome o JOIN inserted b ON b.external_id = o.external_id AND b.resident_id = o.rid
         WHERE p_source = 'partner' AND p.id = o.overlap_id AND o.overlap_status = 'pending_review'
           AND o.final_status IN ('credited', 'capped') AND p.status = 'pending_review'
    )
    SELECT d.ord::integer,
           (CASE WHEN d.fate = 'unknown_resident' THEN 'unknown_resident'
                WHEN d.fate IN ('seen', 'repeated') THEN 'replay'
                WHEN d.fate = 'duplicate_trip' THEN 'duplicate_trip'
                WHEN b.id IS NULL THEN 'key_race'
                ELSE 'recorded' END)::text,
           COALESCE(s.id, b.id, f.id)::bigint,
           COALESCE(s.status, CASE WHEN d.fate = 'repeated' THEN fo.final_status ELSE o.final_status END)::text,
           COALESCE(s.credited_g, CASE WHEN d.fate = 'repeated' THEN fo.credit ELSE o.credit END)::bigint,
           COALESCE(s.capped_g, CASE WHEN d.fate = 'repeated' THEN fo.cut ELSE o.cut END)::bigint,
           COALESCE(s.cap_reason, CASE WHEN d.fate = 'repeated' THEN fo.reason ELSE o.reason END)::text,
           COALESCE(s.balance_after, CASE WHEN d.fate = 'repeated' THEN fo.new_balance ELSE o.new_balance END)::bigint,
           COALESCE(s.content_sha256, decode(CASE WHEN d.fate = 'repeated' THEN fo.content_sha256
                                                  ELSE d.content_sha256 END, 'hex')),
           (CASE WHEN d.fate = 'seen' THEN s.duplicate_of_id ELSE d.overlap_id END)::bigint,
           NULL::double precision
      FROM decided d
      LEFT JOIN seen s ON s.ord = d.ord
      LEFT JOIN outcome o ON o.ord = d.ord
      LEFT JOIN first_of_key k ON k.ord = d.ord
      LEFT JOIN outcome fo ON fo.ord = k.first_ord AND d.fate = 'repeated'
      LEFT JOIN inserted b ON d.fate = 'new' AND b.resident_id = d.rid
            AND b.client_id IS NOT DISTINCT FROM d.client_id AND b.external_id IS NOT DISTINCT FROM d.external_id
      LEFT JOIN inserted f ON d.fate = 'repeated' AND f.resident_id = fo.rid
            AND f.client_id IS NOT DISTINCT FROM fo.client_id AND f.external_id IS NOT DISTINCT FROM fo.external_id
     ORDER BY d.ord;
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
