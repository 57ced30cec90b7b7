-- ingest_record_batch(): the hot path. One call records behaviours and credits them: a partner's batch
-- (p_source 'partner') or the reports a worker gathered from several residents (p_source 'resident',
-- the Recorder of service/ledger/posting.py). service.ledger.posting.call sends it as one statement on
-- a plain connection, so the call is its own transaction. Review approval credits through ingest_review().
--
-- Invariants it keeps:
-- - idempotent: a key seen before (a resident's client_id, a partner's external_id), stored or earlier
--   in the same call, answers the stored result and stores nothing again; a concurrent call that stores
--   the same key first is settled by ingest_behaviour's unique constraints (outcome key_race);
-- - one trip earns one credit, whoever reports it: two travel records of one resident whose times
--   overlap are one trip. The first credited keeps the credit, whether it was stored before or comes
--   earlier in this call; a resident's later report of it is refused (duplicate_trip), a partner's later
--   record is stored as a duplicate naming the record that holds the credit and earns nothing. A
--   resident's report still waiting for review does not hold a trip against a partner: the partner's
--   record is credited and supersedes it. Two calls for the same residents are serialised by the account
--   locks below, so a trip reported by two partners at once is credited once;
-- - one piece of evidence backs one report: a record's claims (a resident's site codes, a photo) are
--   stored with it, and a record naming a claim stored before or earlier in this call is refused
--   (evidence_reused);
-- - credit = min(grams, what the daily cap, the yearly cap and today's platform budget leave), taken in
--   record order: the rule of service.factors.conversion.apply_caps;
-- - double entry: every credit is an issuance transfer, from the issuance slot account the resident's id
--   picks to the resident's account, naming the behaviour and the factor version, with its two entries;
--   the resident's balance, cap usage and budget use change in the same statement;
-- - no hot row: today's budget is split over 64 slots by resident id, and the issuance accounts keep
--   no balance of their own (it is derived from their entries);
-- - no deadlock: rows are locked in one global order before anything is written: rate-limit keys, then
--   budget slots, then residents' accounts, each in sorted order;
-- - a frozen resident's new records are refused; a retry of one recorded before still answers.
--
-- p_records is a jsonb array, one element per behaviour, as service.ledger.posting.Posting types it: ord,
-- resident_id | resident_pseudonym, client_id | external_id, behaviour_type, category, trip_group,
-- quantity, reported_quantity, reported_unit, unit, occurred_at, ended_at, local_date, evidence, tier,
-- pending, factor_version_id, reduction_g_per_unit, weight, exact_g, grams, remainder_g, daily_cap_g,
-- yearly_cap_g, content_sha256 (hex), claims (hex digests, or null), and rate_key where a record takes
-- its own rate limit.
-- Rate limits: with p_rate_key the whole call is one request of that key; with p_rate_key NULL and
-- p_rate_interval given, each record that has a rate_key takes one step of that key's limit.
--
-- It answers one row per record: those that went through, in record order, then those their own rate
-- limit refused. The outcome is one of
--   recorded          stored by this call; status says how: credited, capped, pending_review, duplicate;
--                     transfer_id is its issuance transfer when it earned grams;
--   replay            the key was seen before: the stored result and the stored content hash, which the
--                     caller compares with what was sent;
--   key_race          a concurrent call stored the same key first: the caller reads that record back;
--   duplicate_trip    a resident's report of a trip already recorded (related_id holds its credit): not
--                     stored;
--   evidence_reused   a resident's report naming a claim already used (related_id): not stored;
--   unknown_resident  no such resident, or a deleted one: not stored;
--   unknown_pseudonym, pseudonym_elsewhere, link_revoked
--                     a partner's record naming its resident by a pseudonym that no link holds, that
--                     another partner's link holds, or whose link the resident revoked: not stored. A
--                     revocation locks the resident's account (service/consent) before it takes effect, so
--                     a record is credited only while its link is in force; a record stored before (its
--                     key seen) answers as a replay, as it did then;
--   frozen            a new record of a frozen resident: not stored;
--   rate_limited      over its rate limit: not stored; retry_after is the wait in seconds.
-- In the body, a name that is both a column and an output column (ord, status, credited_g, ...) means
-- the column (#variable_conflict use_column).
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
    cap_reason text, balance_after bigint, content_sha256 bytea, related_id bigint, retry_after double precision,
    transfer_id bigint
) LANGUAGE plpgsql
-- Planning the recording statement costs more than running it for one record: plan it once per session.
SET plan_cache_mode = force_generic_plan
-- Every table access is by key and has an index: the plan takes the index whatever the statistics said
-- when the session planned it (a plan made while the tables were nearly empty would scan them whole).
SET enable_seqscan = off
AS $$
#variable_conflict use_column
DECLARE
    v_wait double precision;
    v_rids bigint[];
    v_slots integer[];
    v_limited integer[];
    v_waits double precision[];
BEGIN
    -- Rate limit of the whole call: over p_rate_key's limit, every record is answered rate_limited and
    -- nothing else happens.
    IF p_rate_key IS NOT NULL THEN
        v_wait := kit_rate_limit_take(p_rate_key, p_rate_interval, p_rate_burst);
        IF v_wait > 0 THEN
            RETURN QUERY SELECT (x.value->>'ord')::integer, 'rate_limited'::text, NULL::bigint, NULL::text,
                NULL::bigint, NULL::bigint, NULL::text, NULL::bigint, NULL::bytea, NULL::bigint, v_wait, NULL::bigint
              FROM jsonb_array_elements(p_records) AS x;
            RETURN;
        END IF;
    END IF;

    -- Several residents' records in one call: each takes a step of its own key's limit, and a record
    -- over its limit leaves the call before anything else looks at it. A step locks its key's row until
    -- the call commits: the steps go in key order, one global order, so two calls cannot deadlock.
    -- p_records keeps the records within their limits; v_limited and v_waits hold the others.
    IF p_rate_key IS NULL AND p_rate_interval IS NOT NULL THEN
        SELECT COALESCE(jsonb_agg(x.value ORDER BY x.n) FILTER (WHERE w.wait = 0), '[]'::jsonb),
               array_agg((x.value->>'ord')::integer ORDER BY x.n) FILTER (WHERE w.wait > 0),
               array_agg(w.wait ORDER BY x.n) FILTER (WHERE w.wait > 0)
          INTO p_records, v_limited, v_waits
          FROM (SELECT e.value, e.n FROM jsonb_array_elements(p_records) WITH ORDINALITY AS e(value, n)
                 ORDER BY e.value->>'rate_key', e.n OFFSET 0) x
         CROSS JOIN LATERAL (
               SELECT CASE WHEN x.value->>'rate_key' IS NULL THEN 0
                           ELSE kit_rate_limit_take(x.value->>'rate_key', p_rate_interval, p_rate_burst) END AS wait) w;
    END IF;

    -- The residents the records name: by id, or by the pseudonym of one of this partner's links in force.
    -- Lookups are LATERAL with LIMIT so that each stays an index probe whatever the planner guesses of
    -- the batch's size: a hash join here would scan a million-row table.
    SELECT array_agg(DISTINCT COALESCE(x.resident_id, res.id)) FILTER (WHERE COALESCE(x.resident_id, res.id) IS NOT NULL)
      INTO v_rids
      FROM jsonb_to_recordset(p_records) AS x(resident_id bigint, resident_pseudonym text)
      LEFT JOIN LATERAL (
            SELECT l.resident_id AS id FROM consent_link l
             WHERE l.pseudonym = x.resident_pseudonym AND l.partner_id = p_partner_id AND l.revoked_at IS NULL
             LIMIT 1) res ON true;

    -- Locks, in the global order: today's budget slots of these residents (created if need be) in slot
    -- order, when there is a budget ...
    IF p_budget_g IS NOT NULL THEN
        SELECT array_agg(DISTINCT (rid % 64)::integer) INTO v_slots FROM unnest(v_rids) AS rid;
        INSERT INTO ingest_budget_slot (budget_date, slot, used_g)
        SELECT p_today, s, 0 FROM unnest(v_slots) AS s ON CONFLICT DO NOTHING;
        PERFORM 1 FROM ingest_budget_slot b WHERE b.budget_date = p_today AND b.slot = ANY(v_slots)
         ORDER BY b.slot FOR UPDATE;
    END IF;
    -- ... then the residents' accounts in id order. Every later statement takes a fresh snapshot, which
    -- sees everything committed before these locks were granted: usage, balances and keys are current.
    PERFORM 1 FROM ledger_account a WHERE a.resident_id = ANY(v_rids) ORDER BY a.id FOR UPDATE;

    -- One statement decides, caps and writes every record, a step per CTE, and answers.
    RETURN QUERY
    WITH input AS (
        -- The records as rows, each with its resident's id (rid); link_refusal says why a pseudonym
        -- names no resident here. The link is read in this statement's snapshot, taken after the account
        -- locks: a revocation that committed before them is seen.
        SELECT x.*,
               COALESCE(x.resident_id,
                        CASE WHEN lk.partner_id = p_partner_id AND lk.revoked_at IS NULL THEN lk.resident_id END) AS rid,
               CASE WHEN x.resident_pseudonym IS NULL THEN NULL
                    WHEN lk.resident_id IS NULL THEN 'unknown_pseudonym'
                    WHEN lk.partner_id <> p_partner_id THEN 'pseudonym_elsewhere'
                    WHEN lk.revoked_at IS NOT NULL THEN 'link_revoked' END AS link_refusal
          FROM jsonb_to_recordset(p_records) AS x(
                ord integer, resident_id bigint, resident_pseudonym text, client_id uuid, external_id text,
                behaviour_type text, category text, trip_group text, quantity numeric,
                reported_quantity numeric, reported_unit text, unit text, occurred_at timestamptz,
                ended_at timestamptz, local_date date, evidence jsonb, tier text, pending boolean,
                factor_version_id bigint, reduction_g_per_unit numeric, weight numeric, exact_g numeric,
                grams bigint, remainder_g numeric, daily_cap_g bigint, yearly_cap_g bigint,
                content_sha256 text, claims text[])
          LEFT JOIN LATERAL (
                SELECT l.resident_id, l.partner_id, l.revoked_at FROM consent_link l
                 WHERE l.pseudonym = x.resident_pseudonym LIMIT 1) lk ON true
    ), looked_up AS (
        -- Look-ups, per record, by index: the account (none for a deleted resident) and whether the
        -- resident is frozen, an earlier record of the same key (sr for a resident's client_id, sp for a
        -- partner's external_id), an overlapping trip (o), a claim stored before (cl); first_ord is the
        -- first record of its key in this call.
        SELECT i.*, a.account_id, a.balance, a.frozen, COALESCE(sr.id, sp.id) AS seen_id,
               COALESCE(sr.status, sp.status) AS seen_status, COALESCE(sr.credited_g, sp.credited_g) AS seen_credited,
               COALESCE(sr.capped_g, sp.capped_g) AS seen_capped, COALESCE(sr.cap_reason, sp.cap_reason) AS seen_reason,
               COALESCE(sr.balance_after, sp.balance_after) AS seen_balance,
               COALESCE(sr.content_sha256, sp.content_sha256) AS seen_sha256,
               COALESCE(sr.duplicate_of_id, sp.duplicate_of_id) AS seen_related,
               o.id AS overlap_id, o.status AS overlap_status, cl.behaviour_id AS claimed_id,
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
                -- The recorded trip this record overlaps, from any source. A credited record is found
                -- before one pending review.
                SELECT b.id, b.status FROM ingest_behaviour b
                 WHERE i.trip_group <> '' AND b.resident_id = i.rid AND b.trip_group = i.trip_group
                   AND b.status IN ('credited', 'capped', 'pending_review')
                   AND b.occurred_at < i.ended_at AND b.ended_at > i.occurred_at
                   -- no record lasts over a day: this bound keeps the probe to a day of the index
                   AND b.occurred_at > i.occurred_at - interval '1 day'
                 ORDER BY (b.status = 'pending_review'), b.id
                 LIMIT 1) o ON true
          LEFT JOIN LATERAL (
                SELECT c.behaviour_id FROM ingest_evidence_claim c
                 WHERE i.claims IS NOT NULL AND c.claim = ANY(ARRAY(SELECT decode(h, 'hex') FROM unnest(i.claims) h))
                 LIMIT 1) cl ON true
    ), candidates AS (
        -- The records of this call that may hold a trip or a claim against a later record of it: a new
        -- key of a known, unfrozen resident, naming no used claim, over no recorded trip (except a
        -- partner's record over a report still waiting for review, which it will supersede).
        SELECT j.ord, j.rid, j.trip_group, j.occurred_at, j.ended_at, j.claims
          FROM looked_up j
         WHERE j.account_id IS NOT NULL AND NOT j.frozen AND j.seen_id IS NULL AND j.first_ord = j.ord
           AND j.claimed_id IS NULL
           AND (j.overlap_id IS NULL OR (p_source = 'partner' AND j.overlap_status = 'pending_review'))
    ), trip_pairs AS (
        -- Each record's earlier candidates of the same trip, by a hash join within the call.
        SELECT l.ord, j.ord AS earlier
          FROM looked_up l
          JOIN candidates j ON j.rid = l.rid AND j.trip_group = l.trip_group AND j.ord < l.ord
           AND j.occurred_at < l.ended_at AND j.ended_at > l.occurred_at
         WHERE l.trip_group <> ''
    ), in_call AS (
        -- trip_ord: the first earlier candidate of the same trip that is not itself the later record of
        -- a trip of this call (in a chain A-B-C where C overlaps B alone, B is A's duplicate and C holds
        -- its own credit, as if each had come in its own call); claim_ord: the first earlier candidate
        -- naming one of the same claims.
        SELECT l.ord, t.trip_ord, c.claim_ord
          FROM looked_up l
          LEFT JOIN (
                SELECT o.ord, min(o.earlier) AS trip_ord
                  FROM trip_pairs o
                 WHERE NOT EXISTS (SELECT 1 FROM trip_pairs p WHERE p.ord = o.earlier)
                 GROUP BY o.ord) t ON t.ord = l.ord
          LEFT JOIN (
                SELECT l3.ord, min(j.ord) AS claim_ord
                  FROM looked_up l3
                 CROSS JOIN LATERAL unnest(l3.claims) AS h3(claim)
                  JOIN (SELECT j1.ord, h1.claim FROM candidates j1 CROSS JOIN LATERAL unnest(j1.claims) AS h1(claim)) j
                    ON j.claim = h3.claim AND j.ord < l3.ord
                 GROUP BY l3.ord) c ON c.ord = l.ord
    ), decided AS (
        -- Decide each record's fate: the link's refusal; unknown_resident; seen (its key is stored); repeated (its key came
        -- earlier in this call); frozen; evidence_reused (a claim used before: a code scanned once and
        -- sent twice is answered so, whether or not the trips overlap); duplicate_trip (a resident's
        -- report of a trip recorded before or earlier in this call); or new, the only fate that stores
        -- anything. base_status is the status a new record starts from: duplicate (a partner's record of
        -- a trip whose credit another record holds), pending_review, or credited. holder_ord: the earlier
        -- record of this call that holds the trip, when no stored record does.
        SELECT l.*,
               CASE WHEN l.link_refusal IS NOT NULL
                         -- a record credited while its link was in force answers as it did then
                         THEN CASE WHEN l.seen_id IS NOT NULL THEN 'seen' ELSE l.link_refusal END
                    WHEN l.account_id IS NULL THEN 'unknown_resident'
                    -- a key seen before answers as it did then, frozen or not: only new records are refused
                    WHEN l.seen_id IS NOT NULL THEN 'seen'
                    WHEN l.first_ord <> l.ord THEN 'repeated'
                    WHEN l.frozen THEN 'frozen'
                    WHEN l.claimed_id IS NOT NULL OR ic.claim_ord IS NOT NULL THEN 'evidence_reused'
                    WHEN (l.overlap_id IS NOT NULL OR ic.trip_ord IS NOT NULL) AND p_source = 'resident'
                         THEN 'duplicate_trip'
                    ELSE 'new' END AS fate,
               CASE WHEN l.overlap_id IS NOT NULL AND l.overlap_status <> 'pending_review' THEN 'duplicate'
                    WHEN ic.trip_ord IS NOT NULL THEN 'duplicate'
                    WHEN l.pending THEN 'pending_review'
                    ELSE 'credited' END AS base_status,
               CASE WHEN l.overlap_id IS NULL OR l.overlap_status = 'pending_review' THEN ic.trip_ord END
                   AS holder_ord,
               ic.claim_ord
          FROM looked_up l
          JOIN in_call ic ON ic.ord = l.ord
    ), day_step AS (
        -- Caps as running sums in record order; records that earn nothing contribute zero.
        -- earns: a new record to be credited now. day_left, year_left: what the caps left before this
        -- call. day_cum: the grams earned today by the resident for the behaviour type, up to and
        -- including this record.
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
        -- day_credit: what the daily cap lets through of the record (the running sum held to day_left,
        -- less the same before this record). year_cum: the running sum of day_credit over the year.
        SELECT y.*, sum(y.day_credit) OVER (PARTITION BY y.rid, y.behaviour_type, date_trunc('year', y.local_date)
                                            ORDER BY y.ord) AS year_cum
          FROM (SELECT s.*, CASE WHEN s.earns THEN LEAST(s.day_left, s.day_cum) - LEAST(s.day_left, s.day_cum - s.grams)
                                 ELSE 0 END AS day_credit
                  FROM day_step s) y
    ), budget_step AS (
        -- year_credit: what the yearly cap lets through of day_credit, the same way. budget_cum: the
        -- running sum of year_credit in each budget slot, in (resident, record) order. budget_left: what
        -- the slot still allows today, its 64th of p_budget_g (slot 0 also takes the remainder) less
        -- its use so far.
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
        -- credit: what the budget lets through of year_credit (all of it when there is no budget). Then
        -- each record's final status, the grams cut and the limit that cut them (the budget, else the
        -- yearly cap, else the daily cap), the resident's balance after it, and an id for each new record.
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
        -- Insert the new behaviours. A key that a concurrent call stored first conflicts and is skipped
        -- (key_race): only the rows returned here go on to the ledger.
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
               CASE WHEN c.final_status <> 'duplicate' THEN NULL WHEN c.holder_ord IS NULL THEN c.overlap_id
                    ELSE h.new_id END,
               decode(c.content_sha256, 'hex')
          FROM credited c
          LEFT JOIN credited h ON h.ord = c.holder_ord
         WHERE c.fate = 'new'
        ON CONFLICT DO NOTHING
        RETURNING b.id, b.resident_id, b.credited_g, b.behaviour_type, b.local_date, b.factor_version_id
    ), inserted_ids AS (
        -- The ids this call stored.
        SELECT COALESCE(array_agg(b.id), '{}') AS ids FROM inserted b
    ), transfers AS (
        -- One issuance transfer per credited behaviour, from the issuance slot account the resident's id
        -- picks to the resident's account.
        INSERT INTO ledger_transfer (kind, debit_account_id, credit_account_id, amount, behaviour_id, factor_version_id)
        SELECT 'issuance', p_issuance_accounts[1 + b.resident_id % array_length(p_issuance_accounts, 1)],
               a.id, b.credited_g, b.id, b.factor_version_id
          FROM inserted b
          JOIN LATERAL (SELECT la.id FROM ledger_account la WHERE la.resident_id = b.resident_id LIMIT 1) a ON true
         WHERE b.credited_g > 0
        RETURNING id, debit_account_id, credit_account_id, amount, behaviour_id
    ), claimed AS (
        -- The claims of the records stored, each kept once.
        INSERT INTO ingest_evidence_claim (claim, behaviour_id)
        SELECT decode(h, 'hex'), b.id
          FROM inserted b
          JOIN credited c ON c.new_id = b.id
         CROSS JOIN LATERAL unnest(c.claims) AS h
         WHERE c.claims IS NOT NULL
         -- in one order in every call, so that two calls waiting on each other's claims cannot deadlock
         ORDER BY 1
        ON CONFLICT DO NOTHING
    ), entries AS (
        -- Each transfer's two entries, summing to zero.
        INSERT INTO ledger_entry (transfer_id, account_id, amount)
        SELECT t.id, t.debit_account_id, -t.amount FROM transfers t
        UNION ALL
        SELECT t.id, t.credit_account_id, t.amount FROM transfers t
    ), balances AS (
        -- Each resident's balance gains its credits; the issuance accounts' balances are derived from
        -- their entries, so no row here is one that every call updates.
        UPDATE ledger_account a SET balance = a.balance + s.total
          FROM (SELECT t.credit_account_id, sum(t.amount) AS total FROM transfers t GROUP BY t.credit_account_id) s
         WHERE a.id = s.credit_account_id
    ), usage AS (
        -- Cap usage: the grams credited per resident and behaviour type, on the day and in the year.
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
        -- Budget use: the grams credited today per budget slot.
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
        -- A key repeated within the batch answers with the result of its first record. stored: this
        -- call stored the record (a new record that is not stored lost a key race).
        -- related: the record that holds this one's trip or claim.
        SELECT c.*, c.new_id = ANY(n.ids) AS stored, fo.new_id AS first_id, fo.final_status AS first_status,
               fo.credit AS first_credit, fo.cut AS first_cut, fo.reason AS first_reason,
               fo.new_balance AS first_balance, fo.content_sha256 AS first_sha256,
               CASE WHEN c.fate = 'evidence_reused' THEN COALESCE(c.claimed_id, cf.new_id)
                    WHEN c.holder_ord IS NOT NULL THEN h.new_id
                    ELSE c.overlap_id END AS related,
               t.id AS new_transfer_id
          FROM credited c
         CROSS JOIN inserted_ids n
          LEFT JOIN LATERAL (SELECT f.* FROM credited f WHERE c.fate = 'repeated' AND f.ord = c.first_ord) fo ON true
          LEFT JOIN credited h ON h.ord = c.holder_ord
          LEFT JOIN credited cf ON cf.ord = c.claim_ord
          LEFT JOIN transfers t ON t.behaviour_id = c.new_id
    )
    -- The answers, in record order: the outcome, then the record's result (the stored one for a key
    -- seen before, the first record's for a key repeated in this call).
    SELECT a.ord::integer,
           (CASE WHEN a.fate IN ('unknown_resident', 'unknown_pseudonym', 'pseudonym_elsewhere', 'link_revoked',
                                 'frozen') THEN a.fate
                 WHEN a.fate IN ('seen', 'repeated') THEN 'replay'
                 WHEN a.fate = 'duplicate_trip' THEN 'duplicate_trip'
                 WHEN a.fate = 'evidence_reused' THEN 'evidence_reused'
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
           (CASE WHEN a.fate = 'seen' THEN a.seen_related ELSE a.related END)::bigint,
           NULL::double precision,
           (CASE WHEN a.fate = 'new' AND a.stored THEN a.new_transfer_id END)::bigint
      FROM answered a
     ORDER BY a.ord;

    -- Then the records their own key's limit refused, with their waits.
    IF v_limited IS NOT NULL THEN
        RETURN QUERY SELECT l.ord, 'rate_limited'::text, NULL::bigint, NULL::text, NULL::bigint, NULL::bigint,
                            NULL::text, NULL::bigint, NULL::bytea, NULL::bigint, l.wait, NULL::bigint
                       FROM unnest(v_limited, v_waits) AS l(ord, wait);
    END IF;
END $$;
