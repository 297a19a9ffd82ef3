"""The Roshni hub: ingest, time series, state, rules, API. Never imports `node`."""
