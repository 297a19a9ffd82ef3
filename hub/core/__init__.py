"""The hub's core: the settings every feature reads. Features (rules, spots, notify,
dashboard, control) import from here; nothing here imports a feature, so `hub.config`
loads without pulling in FastAPI, the rules engine or the dashboard."""
