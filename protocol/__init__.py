"""The wire contract between Roshni nodes and the hub (DESIGN.md §4).

Imports nothing of `node` or `hub`; both import this.
"""

PROTOCOL_VERSION = 1
