"""The commissioning self-test (`roshni node selftest`): a checklist a technician on a
ladder can act on — every item PASS or FAIL, and for a FAIL what to do about it in plain
words. The same sensor, spool and clock checks answer the hub's `selftest` command."""

from node.selftest.checks import FAIL, PASS, SKIP, Check
from node.selftest.runner import Options, quick_checks, run_selftest

__all__ = ["FAIL", "PASS", "SKIP", "Check", "Options", "quick_checks", "run_selftest"]
