"""The hub's side of the broker's security (DESIGN.md §4, §8): node credentials in
Mosquitto's own password-file format, telling a running Mosquitto to reload them, and the
certificates its TLS listener uses."""
