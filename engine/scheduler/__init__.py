"""The scheduler (issue 6): escalation before deadlines, exactly once, in working time.

- `deadlines`: the escalation policy (data) and every threshold instant, computed with
  the working calendar; `reschedule` keeps `next_escalation_at` current on tasks and
  dossiers (the projection calls it), so a sweep reads only what is due.
- `sweep`: one pass - fire due BPMN timers, escalate due tasks and dossiers, deliver
  the outbox. Safe to run in several processes at once.
- `channels`: email (SMTP) and webhook (HMAC-signed JSON) delivery.
- `embedded`: APScheduler inside a web process; `cli/scheduler.py` runs it alone.

Kept import-light: `engine.services.workflow` imports the SpiffWorkflow adapter and `deadlines`.
"""
