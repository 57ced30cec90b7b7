-- ingest_review(): an operator's decision on a report held for review (status pending_review). A
-- rejection stores the decision and credits nothing; an approval credits the report now, under the caps
-- of the day it happened and today's platform budget, through the same steps as recording
-- (ingest_allowed_credit(), ledger_post_issuance()). Either way the behaviour records who decided, when
-- and why.
--
-- Called by service.ledger.service.review, in the operator's request transaction (which also writes
-- the admin action log). Locks are taken in recording's global order: the budget slot, then the
-- resident's account, then the behaviour, so a review and a recording call cannot deadlock.
--
-- It answers one row: outcome not_found (no such behaviour), not_pending (already decided, or never
-- held: status is what it is) or decided, with the new status (credited, capped or rejected), the
-- grams credited and cut, and the resident's balance after. In the body, a name that is both a column
-- and an output column (status, credited_g, ...) means the column (#variable_conflict use_column).
CREATE OR REPLACE FUNCTION ingest_review(
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
    -- Locks, in the global order: the resident's budget slot (an approval only), the account, the
    -- behaviour. The behaviour is read again under its lock: a concurrent review may have decided it.
    v_budget_left := CASE WHEN p_approve THEN ingest_lock_budget(p_today, (v_rid % 64)::integer, p_budget_g) END;
    SELECT a.id, a.balance INTO v_account, v_balance FROM ledger_account a WHERE a.resident_id = v_rid FOR UPDATE;
    SELECT * INTO b FROM ingest_behaviour WHERE id = p_behaviour_id FOR UPDATE;
    IF b.status <> 'pending_review' THEN
        outcome := 'not_pending'; status := b.status; RETURN NEXT; RETURN;
    END IF;
    -- Decide: a rejection credits nothing; an approval credits what the caps of the behaviour's day
    -- (from the factor version it was converted with) and the budget leave.
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
    -- The behaviour records the decision and its result.
    UPDATE ingest_behaviour
       SET status = v_status, credited_g = v_credit,
           capped_g = CASE WHEN v_status = 'rejected' THEN 0 ELSE b.grams - v_credit END,
           cap_reason = v_reason, balance_after = v_balance + v_credit,
           reviewed_by = p_actor, reviewed_at = now(), review_reason = p_reason
     WHERE id = p_behaviour_id;
    -- The credit, if any, posted from the issuance slot account the resident's id picks.
    IF v_credit > 0 THEN
        PERFORM ledger_post_issuance(
            v_rid, v_account, p_issuance_accounts[1 + v_rid % array_length(p_issuance_accounts, 1)], v_credit,
            p_behaviour_id, b.factor_version_id, b.behaviour_type, b.local_date, p_today,
            CASE WHEN p_budget_g IS NOT NULL THEN (v_rid % 64)::integer END);
    END IF;
    -- The answer.
    outcome := 'decided'; status := v_status; credited_g := v_credit;
    capped_g := CASE WHEN v_status = 'rejected' THEN 0 ELSE b.grams - v_credit END;
    balance_after := v_balance + v_credit;
    RETURN NEXT;
END $$;
