"""Runs moto's server on loopback for Meridian's tests, until the test process exits.

Usage: python moto_harness.py PORT                        (moto imported from this interpreter)
       python3 moto_harness.py --exec MOTO_SERVER PORT   (an existing moto_server executable)

Not moto.py: that name would shadow the moto package. Prints "ready" once the server answers,
then "moto X.Y.Z" when it knows the version. Exits (stopping the server) when its parent
process goes away, so no server outlives the tests.

Where moto 5.2.5's Route 53 differs from Route 53, the imported server is corrected (unless
MERIDIAN_MOTO_STOCK=1), so the tests test Meridian and not moto's quirks; `tests/it/aws.rs`
checks each correction (and, under MERIDIAN_MOTO_STOCK=1, that stock moto still differs):
- a DELETE with a set identifier removes that one record set (name, type and identifier),
  not every set of the zone with that identifier;
- a CREATE is refused exactly when the set (name, type, identifier) exists, and a DELETE when
  it does not or its TTL and values differ, decided on the zone, not on a journal of past
  changes; the batch is checked whole before any change is made (Route 53's batches are
  atomic);
- CreateHealthCheck honours its CallerReference: the same reference and settings return the
  same check, other settings or a deleted check's reference answer HealthCheckAlreadyExists;
- ListHealthChecks pages at MaxItems (at most 1,000) with Marker, IsTruncated and NextMarker;
  ListResourceRecordSets orders by name, type and set identifier and honours
  StartRecordIdentifier (NextRecordIdentifier).
"""
import os
import socket
import subprocess
import sys
import time


def wait_for(port, proc=None, timeout=60.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            sys.exit("moto_server exited with status %s" % proc.returncode)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit("moto's server did not answer on port %d within %d s" % (port, timeout))


def main():
    port = int(sys.argv[-1])
    parent = os.getppid()
    if "--exec" in sys.argv:
        server = sys.argv[sys.argv.index("--exec") + 1]
        proc = subprocess.Popen(
            [server, "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(port, proc)
        print("ready", flush=True)
        try:
            while os.getppid() == parent and proc.poll() is None:
                time.sleep(0.5)
        finally:
            proc.terminate()
        return
    import moto
    from moto.server import ThreadedMotoServer

    if os.environ.get("MERIDIAN_MOTO_STOCK") != "1":
        correct_route53()

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    wait_for(port)
    print("ready", flush=True)
    print("moto %s" % moto.__version__, flush=True)
    while os.getppid() == parent:
        time.sleep(0.5)
    server.stop()


def correct_route53():
    from moto.route53 import models, responses
    from moto.route53.exceptions import (
        DnsNameInvalidForZone,
        InvalidActionValue,
        Route53ClientError,
    )

    class InvalidChangeBatch(Route53ClientError):
        def __init__(self, message):
            super().__init__("InvalidChangeBatch", message)
    from moto.route53.utils import validate_domain_name

    class HealthCheckAlreadyExists(Route53ClientError):
        def __init__(self, reference):
            super().__init__(
                "HealthCheckAlreadyExists",
                "A health check with caller reference %s already exists" % reference,
            )

    def dotted(name):
        return name if name.endswith(".") else name + "."

    def rs_key(name, type_, ident):
        return (dotted(name).lower(), type_, ident or None)

    def of_set(rs):
        return rs_key(rs.name, rs.type, rs.set_identifier)

    def of_change(record_set):
        return rs_key(record_set["Name"], record_set["Type"], record_set.get("SetIdentifier"))

    original_change = models.Route53Backend.change_resource_record_sets

    def values(record_set):
        return sorted(
            v["Value"] if isinstance(v, dict) else v
            for v in record_set.get("ResourceRecords", [])
        )

    def change_resource_record_sets(self, zoneid, change_list):
        zone = self.get_hosted_zone(zoneid)
        live = {of_set(rs) for rs in zone.rrsets}
        sets = {of_set(rs): rs for rs in zone.rrsets}
        for value in change_list:
            action, record_set = value["Action"], value["ResourceRecordSet"]
            if action not in ("CREATE", "UPSERT", "DELETE"):
                raise InvalidActionValue(action)
            validate_domain_name(record_set["Name"], code="InvalidChangeBatch")
            if not record_set["Name"].strip(".").endswith(zone.name.strip(".")):
                raise DnsNameInvalidForZone(name=record_set["Name"], zone_name=zone.name)
            k = of_change(record_set)
            if action == "CREATE" and k in live:
                raise InvalidChangeBatch(
                    "Tried to create resource record set [name='%s', type='%s', set-identifier='%s'] but it already exists"
                    % (dotted(record_set["Name"]), k[1], k[2])
                )
            if action == "DELETE" and k not in live:
                raise InvalidChangeBatch(
                    "Tried to delete resource record set [name='%s', type='%s', set-identifier='%s'] but it was not found"
                    % (dotted(record_set["Name"]), k[1], k[2])
                )
            # A DELETE names the set as it is: its TTL and values must match.
            was = sets.get(k) if action == "DELETE" else None
            if was is not None and "ResourceRecords" in record_set and (
                values(record_set) != sorted(was.records)
                or (record_set.get("TTL") is not None and str(record_set.get("TTL")) != str(was.ttl))
            ):
                raise InvalidChangeBatch(
                    "Tried to delete resource record set [name='%s', type='%s', set-identifier='%s'] but the values provided do not match the current values"
                    % (dotted(record_set["Name"]), k[1], k[2])
                )
            if action in ("CREATE", "UPSERT"):
                live.add(k)
            elif action == "DELETE":
                live.discard(k)
        for value in change_list:
            action, record_set = value["Action"], value["ResourceRecordSet"]
            if action == "DELETE":
                k = of_change(record_set)
                zone.rrsets = [rs for rs in zone.rrsets if of_set(rs) != k]
                continue
            if action == "CREATE":
                # Checked above: moto's own journal check would refuse a re-created set.
                value = dict(value, Action="UPSERT")
            original_change(self, zoneid, [value])

    models.Route53Backend.change_resource_record_sets = change_resource_record_sets

    original_create = models.Route53Backend.create_health_check

    def create_health_check(self, caller_reference, args):
        made = self.__dict__.setdefault("_meridian_references", {})
        if caller_reference in made:
            check_id, settings = made[caller_reference]
            if check_id in self.health_checks and settings == args:
                return self.health_checks[check_id]
            raise HealthCheckAlreadyExists(caller_reference)
        check = original_create(self, caller_reference, args)
        made[caller_reference] = (check.id, dict(args))
        return check

    models.Route53Backend.create_health_check = create_health_check

    def list_health_checks(self):
        checks = sorted(self.backend.list_health_checks(), key=lambda h: h.id)
        marker = self._get_param("Marker")
        max_items = min(self._get_int_param("MaxItems", 100), 1000)
        if marker:
            checks = [h for h in checks if h.id > marker]
        page, rest = checks[:max_items], checks[max_items:]
        result = {
            "HealthChecks": page,
            "Marker": marker or "",
            "IsTruncated": bool(rest),
            "MaxItems": str(max_items),
        }
        if rest:
            result["NextMarker"] = page[-1].id
        return responses.ActionResult(result)

    responses.Route53.list_health_checks = list_health_checks

    def get_record_sets(self, start_type, start_name, start_identifier=None):
        def order(rs):
            return (models.reverse_domain_name(rs.name), rs.type, rs.set_identifier or "")

        sets = sorted(self.rrsets, key=order)
        if start_name:
            start = (
                models.reverse_domain_name(dotted(start_name)),
                start_type or "",
                start_identifier or "",
            )
            sets = [rs for rs in sets if order(rs) >= start]
        return sets

    models.FakeZone.get_record_sets = get_record_sets

    def list_resource_record_sets(self):
        zone = self.backend.get_hosted_zone(self._get_param("HostedZoneId"))
        max_items = self._get_int_param("MaxItems", 300)
        sets = zone.get_record_sets(
            self._get_param("StartRecordType"),
            self._get_param("StartRecordName"),
            self._get_param("StartRecordIdentifier"),
        )
        page, rest = sets[:max_items], sets[max_items:]
        result = {
            "ResourceRecordSets": page,
            "IsTruncated": bool(rest),
            "MaxItems": str(max_items),
        }
        if rest:
            result["NextRecordName"] = rest[0].name
            result["NextRecordType"] = rest[0].type
            if rest[0].set_identifier:
                result["NextRecordIdentifier"] = rest[0].set_identifier
        return responses.ActionResult(result)

    responses.Route53.list_resource_record_sets = list_resource_record_sets


main()
