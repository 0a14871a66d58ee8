"""A Generate from the form to its final statuses, and what it may spend.

- `plans`: what one Generate sends, what it costs and what the form says about it (pure); `templates`
  expands `{oak|marble}` alternatives.
- `submitting`: the submit state machine (one POST at a time, questions before spending, the budget, a
  safe retry under the same idempotency key, the journal before any success is reported).
- `budgets`: the kernel's and the key's credit caps; `key_budget` where the key's total is counted.
- `journal`: the jobs of one data folder, written through the store before a view reports them.
- `tracking`: the one poller per client; `status` its status categories.
- `runs`: a run and the words of its header; `retry_failed` "Retry N failed"; `final_statuses` writes a
  run's end off the loop; `history_scope` whose jobs a kernel shows.
"""
