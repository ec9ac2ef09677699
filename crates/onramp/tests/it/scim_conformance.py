"""Runs scim2-tester against an onramp server: python scim_conformance.py BASE_URL TOKEN.

Prints one line per check (status, title, reason) and, last, "FAILURES <n>": the checks whose status is
ERROR or CRITICAL (a MUST of the RFCs broken)."""

import sys

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

base_url, token = sys.argv[1], sys.argv[2]
client = SyncSCIMClient(Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}))
client.discover()
failures = 0
for result in check_server(client):
    print(f"{result.status.name:<10} {result.resource_type or '-':<8} {result.title} {result.reason or ''}".rstrip())
    if result.status in (Status.ERROR, Status.CRITICAL):
        failures += 1
print(f"FAILURES {failures}")
