"""`roshni provision` as an operator uses it: bundles a technician can take to the pole,
passwords that stay or change on purpose, CSV batches, and mistakes named clearly."""

from __future__ import annotations

import re
import stat

import segno

from hub.broker.passwords import PasswordFile
from node.config import NodeSettings
from tests.field.broker import HUB_ACCOUNTS, DeployedBroker
from tests.field.kit import Client, Operator


def test_the_bundle_is_a_valid_node_config_for_that_pole(operator: Operator, broker):
    bundle = operator.provision("khi-kor-0042", "--pole", "K5-117", "--rated-w", "60",
                                "--profile", "pi4-relay", "--lamp-model", "Philips BRP131")
    config = bundle / "node.toml"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600, "the password file is readable by all"
    settings = NodeSettings.load(config)
    assert settings.node.id == "khi-kor-0042" and settings.node.profile == "pi4-relay"
    assert (settings.node.lat, settings.node.lon) == (24.8315, 67.1311)
    ep = settings.mqtt_endpoint()
    assert ep.tls and ep.username == "khi-kor-0042" and ep.port == broker.tls_port
    assert PasswordFile(broker.passwd.path).check("khi-kor-0042", ep.password)
    assert str(settings.mqtt.ca_file) == "/etc/roshni/ca.crt"
    assert (bundle / "ca.crt").read_bytes() == broker.certs.ca_cert.read_bytes()


def test_the_label_carries_a_qr_code_of_the_node_id_and_what_a_crew_reads(operator):
    bundle = operator.provision("khi-kor-0042", "--pole", "K5-117")
    svg = (bundle / "label.svg").read_text()
    for text in ("khi-kor-0042", "Pole K5-117", "Korangi 5", "DMC Korangi"):
        assert f">{text}</text>" in svg
    qr_path = re.search(r'<path class="qrline"[^>]* d="([^"]+)"', svg)
    assert qr_path is not None, "no QR code on the label"
    expected = segno.make_qr("khi-kor-0042", error="q").svg_inline(scale=1, border=4)
    assert qr_path.group(1) in expected, "the QR code does not encode the node id"


def test_provisioning_again_keeps_the_password_unless_asked_for_a_new_one(operator, broker):
    bundle = operator.provision("khi-kor-0042")
    first = NodeSettings.load(bundle / "node.toml").mqtt_endpoint().password
    again = operator.run("provision", "khi-kor-0042", "--district", "korangi", "--area",
                         "Korangi 5", "--lat", "24.83", "--lon", "67.13", "--pole", "K5-200")
    assert "broker credentials kept" in again.stdout
    assert NodeSettings.load(bundle / "node.toml").mqtt_endpoint().password == first
    rotated = operator.run("provision", "khi-kor-0042", "--district", "korangi", "--area",
                           "Korangi 5", "--lat", "24.83", "--lon", "67.13", "--new-password")
    assert "new broker credentials" in rotated.stdout and "reloaded" in rotated.stdout
    new = NodeSettings.load(bundle / "node.toml").mqtt_endpoint().password
    assert new != first

    def connects(password: str) -> bool:
        c = Client("localhost", broker.tls_port, username="khi-kor-0042", password=password,
                   ca_file=broker.certs.ca_cert)
        try:
            return c.connect()
        finally:
            c.close()
    assert connects(new) and not connects(first)


def test_a_csv_batch_provisions_the_good_rows_and_names_the_bad_ones(operator, broker,
                                                                    tmp_path):
    csv_file = tmp_path / "korangi.csv"
    csv_file.write_text(
        "\ufeffnode_id,district,area,lat,lon,pole,rated_w\n"
        "khi-kor-0301,korangi,Korangi 5,24.8301,67.1301,K5-301,60\n"
        "khi-kor-0302,korangi,Korangi 5,24.8302,67.1302,K5-302,\n"
        "KHI KOR 3,korangi,Korangi 5,24.83,67.13,,\n"
        "khi-kor-0304,korangi,Korangi 6,95,67.13,,\n"
        "khi-kor-0305,nowhere,Korangi 6,24.83,67.13,,\n"
        "khi-kor-0301,korangi,Korangi 5,24.83,67.13,,\n")
    result = operator.run("provision", "--csv", str(csv_file), check=False)
    assert result.returncode == 1
    assert "2 nodes provisioned (2 with new credentials), 4 rows left out" in result.stdout
    errors = result.stderr
    assert f"{csv_file}:4: id: invalid node id 'KHI KOR 3'" in errors
    assert f"{csv_file}:5: lat:" in errors
    assert f"{csv_file}:6: khi-kor-0305: unknown district 'nowhere'" in errors
    assert f"{csv_file}:7: node khi-kor-0301 is already on line 2" in errors
    assert "provisioning: 100%" in errors  # the progress bar
    assert set(PasswordFile(broker.passwd.path).read()) == {*HUB_ACCOUNTS, "khi-kor-0301",
                                                            "khi-kor-0302"}
    assert sorted(p.name for p in (operator.data_dir / "bundles").iterdir()) == [
        "khi-kor-0301", "khi-kor-0302"]


def test_a_csv_without_the_needed_columns_is_refused_whole(operator, tmp_path):
    csv_file = tmp_path / "nodes.csv"
    csv_file.write_text("id,district,lat\nkhi-kor-0401,korangi,24.8\n")
    result = operator.run("provision", "--csv", str(csv_file), check=False)
    assert result.returncode == 2
    assert "lacks area, lon" in result.stderr


def test_mistakes_are_named_without_a_traceback(operator):
    cases = [
        (("provision", "khi-kor-0042", "--district", "korangi"), "--area, --lat, --lon are needed"),
        (("provision", "khi-kor-0042", "--revoke"), "no node 'khi-kor-0042' is registered"),
        (("provision", "khi-kor-0042", "--revoke", "--pole", "7"), "--revoke takes only"),
        (("provision",), "give a NODE_ID, or --csv FILE"),
        (("provision", "khi-kor-0042", "--district", "korangi", "--area", "K", "--lat", "24",
          "--lon", "200"), "lon: Input should be less than or equal to 180"),
    ]
    for args, message in cases:
        result = operator.run(*args, check=False)
        assert result.returncode == 2, (args, result)
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr


def test_without_a_password_file_nodes_are_registered_and_the_operator_told(tmp_path):
    broker = DeployedBroker(tmp_path / "mosquitto")  # never started: only its files
    operator = Operator(tmp_path / "hub", broker)
    del operator.env["ROSHNI_BROKER__PASSWORD_FILE"]
    result = operator.run("provision", "khi-kor-0042", "--district", "korangi", "--area",
                          "Korangi 5", "--lat", "24.83", "--lon", "67.13")
    assert "no broker credentials" in result.stdout
    assert "[broker] password_file is not set" in result.stdout
    assert not (operator.bundle("khi-kor-0042") / "node.toml").exists()


def test_the_hubs_own_accounts_cannot_be_provisioned_nor_revoked(operator, broker, tmp_path):
    """Giving the hub's account a node's password would lock the hub out (and hand its
    account to a bundle); revoking it would cut the hub off."""
    before = PasswordFile(broker.passwd.path).read()
    for args in (("--new-password",), ()):
        result = operator.run("provision", "roshni-hub", "--district", "korangi", "--area",
                              "Korangi 5", "--lat", "24.83", "--lon", "67.13", *args,
                              check=False)
        assert result.returncode == 2
        assert "roshni-hub is the hub's own broker account" in result.stderr
    result = operator.run("provision", "roshni-hub-cmd", "--revoke", check=False)
    assert result.returncode == 2
    assert "roshni-hub-cmd is the hub's own broker account" in result.stderr
    csv_file = tmp_path / "rows.csv"
    csv_file.write_text("node_id,district,area,lat,lon\n"
                        "khi-kor-0301,korangi,Korangi 5,24.8301,67.1301\n"
                        "roshni-hub,korangi,Korangi 5,24.8302,67.1302\n")
    result = operator.run("provision", "--csv", str(csv_file), check=False)
    assert result.returncode == 1
    assert f"{csv_file}:3: roshni-hub: roshni-hub is the hub's own broker account" in result.stderr
    after = PasswordFile(broker.passwd.path).read()
    assert {k: after[k] for k in HUB_ACCOUNTS} == {k: before[k] for k in HUB_ACCOUNTS}, \
        "the hub's password changed"
    assert not (operator.data_dir / "bundles" / "roshni-hub").exists()


def test_a_hub_worker_named_in_the_settings_is_reserved_too(broker, tmp_path):
    """Whatever the hub's client id is configured to be, it and its workers' accounts are
    the hub's."""
    operator = Operator(tmp_path / "hub-data", broker, ROSHNI_MQTT__CLIENT_ID="hub-a")
    for name in ("hub-a", "hub-a-2-cmd"):
        result = operator.run("provision", name, "--district", "korangi", "--area",
                              "Korangi 5", "--lat", "24.83", "--lon", "67.13", check=False)
        assert result.returncode == 2, result.stdout
        assert f"{name} is the hub's own broker account" in result.stderr
    assert not PasswordFile(broker.passwd.path).has("hub-a")


def test_coordinates_outside_the_service_area_are_refused_naming_a_swap(operator, tmp_path):
    """One post with swapped coordinates would put a lamp in the Arabian Sea... or in
    Antarctica, and zoom every map out to the whole world."""
    result = operator.run("provision", "khi-kor-0042", "--district", "korangi", "--area",
                          "Korangi 5", "--lat", "67.1311", "--lon", "24.8315", check=False)
    assert result.returncode == 2
    assert "outside the service area" in result.stderr
    assert "swapped" in result.stderr and "--lat 24.8315 --lon 67.1311" in result.stderr
    csv_file = tmp_path / "rows.csv"
    csv_file.write_text("node_id,district,area,lat,lon\n"
                        "khi-kor-0301,korangi,Korangi 5,24.8301,67.1301\n"
                        "khi-kor-0302,korangi,Korangi 5,31.5204,74.3587\n")  # Lahore
    result = operator.run("provision", "--csv", str(csv_file), check=False)
    assert result.returncode == 1
    assert f"{csv_file}:3: khi-kor-0302: lat 31.5204, lon 74.3587 is outside the service " \
           "area" in result.stderr
    assert "swapped" not in result.stderr
    assert not (operator.data_dir / "bundles" / "khi-kor-0042").exists()
    assert not (operator.data_dir / "bundles" / "khi-kor-0302").exists()
