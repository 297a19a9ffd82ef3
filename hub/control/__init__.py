"""Lamp control on the hub (DESIGN.md §11): named, versioned programs assigned to
districts, areas and nodes; each node's effective program (with the safety floor at unsafe
spots) sent as its retained config and its acknowledgement tracked; overrides recorded;
energy used and saved against full-on lighting.

- `service.Control`: what the hub process runs (the ingest stage, the sweep) and what the API
  calls after a change (`apply`).
- `programs`, `effective`, `publish`, `overrides`, `energy`: the pieces.
"""
