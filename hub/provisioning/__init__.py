"""Bringing nodes into service from the hub (DESIGN.md §10 `roshni provision`): register
them, give them broker credentials, and hand the technician a bundle to put on the Pi."""

from hub.provisioning.batch import BatchResult, provision_csv, read_csv
from hub.provisioning.service import Outcome, Provisioner, ProvisionError
from hub.provisioning.spec import NodeSpec, SpecError

__all__ = ["BatchResult", "NodeSpec", "Outcome", "ProvisionError", "Provisioner", "SpecError",
           "provision_csv", "read_csv"]
