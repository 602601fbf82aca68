"""Timers as Step Functions executions: deterministic names, version-guarded wake-ups."""
