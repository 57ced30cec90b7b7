"""Recording: one call of ingest_record_batch() can carry several residents' reports, each rate limited
under its own key.

The service gathers the reports that arrive while a call is running into the next call (at most one
per resident in a call, see service/ingest/gathering.py). Each keeps its resident's write limit: when the call
names no single key (p_rate_key NULL) but gives the limit (p_rate_interval), every record with a
`rate_key` takes one step of that key's limit, in record order; a record over its limit is answered
`rate_limited` with its wait, and the others are recorded as if it had not been sent. A call with
p_rate_key keeps the old meaning (the whole call is one request of that key).

The function is written out whole, as revision 0009 left it with these two steps added, and keeps the
setting revision 0012 gave it (enable_seqscan = off), which CREATE OR REPLACE would otherwise drop.

Revision ID: 0013_recording_gathered
Revises: 0012_recording_index_plans
Create Date: 2026-11-24 10:00:00
"""

from collections.abc import Sequence

from alembic import op

from service.db import earlier_revision, execute_script

revision: str = "0013_recording_gathered"
down_revision: str | None = "0012_recording_index_plans"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REVISION_0009 = "20261124_0600_frozen_after_replay.py"
_REVISION_0012 = "20261124_0900_recording_index_plans.py"

_SETTINGS = "SET plan_cache_mode = force_generic_plan\n"
_DECLARE = "    v_slots integer[];\n"
_AFTER_RATE_KEY = """            RETURN;
        END IF;
    END IF;
"""
_PER_RECORD_LIMITS = """
    -- Several residents' records in one call: each takes a step of its own key's limit, and a record
    -- over its limit leaves the call before anything else looks at it. A step locks its key's row until
    -- the call commits: the steps go in key order, one global order, so two calls cannot deadlock.
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
"""
_END = """     ORDER BY a.ord;
END $$;"""
_LIMITED_ROWS = """     ORDER BY a.ord;

    IF v_limited IS NOT NULL THEN
        RETURN QUERY SELECT l.ord, 'rate_limited'::text, NULL::bigint, NULL::text, NULL::bigint, NULL::bigint,
                            NULL::text, NULL::bigint, NULL::bytea, NULL::bigint, l.wait
                       FROM unnest(v_limited, v_waits) AS l(ord, wait);
    END IF;
END $$;"""


def _rewrite(sql: str, old: str, new: str) -> str:
    assert sql.count(old) == 1, f"revision 0009's function no longer reads {old!r}"
    return sql.replace(old, new)


def record_batch_function() -> str:
    """ingest_record_batch() as this revision writes it: revision 0009's, with the steps above."""
    sql = str(earlier_revision(_REVISION_0009).RECORD_BATCH)
    sql = _rewrite(sql, _SETTINGS, _SETTINGS + "SET enable_seqscan = off\n")
    sql = _rewrite(sql, _DECLARE, _DECLARE + "    v_limited integer[];\n    v_waits double precision[];\n")
    sql = _rewrite(sql, _AFTER_RATE_KEY, _AFTER_RATE_KEY + _PER_RECORD_LIMITS)
    return _rewrite(sql, _END, _LIMITED_ROWS)


def upgrade() -> None:
    execute_script(op.get_bind(), record_batch_function())


def downgrade() -> None:
    execute_script(op.get_bind(), str(earlier_revision(_REVISION_0009).RECORD_BATCH))
    earlier_revision(_REVISION_0012).upgrade()
