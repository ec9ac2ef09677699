"""Drives apps and app owners (v1) of a running onramp through the official ConductorOne Python SDK
(conductorone-sdk 0.17.2).

Every call goes through the SDK's typed methods: apps create, get, list (paged), update and delete;
app_owners add, list, list_owner_i_ds, remove, set and delete. The script checks the typed objects the SDK
returns (ids, names, enum members, 64-bit counts, times, owner users) and the refusals it raises (404 as an
SDKError), so that a response the SDK cannot parse, or parses into the wrong values, fails here.

Environment:
    ONRAMP_URL               the server, such as http://127.0.0.1:8080 (required)
    ONRAMP_TOKEN             an access token; or else
    ONRAMP_CLIENT_ID         a client id and secret, exchanged for an access token at /auth/v1/token
    ONRAMP_CLIENT_SECRET
    ONRAMP_OWNER_USERS       a JSON list of three users of the caller's tenant that own nothing yet, each
                             {"id", "email", "displayName"} (required)

The tenant must hold no apps when the script starts. Exits 0 when every check passes, 1 with a message on
the first mismatch, 2 on a usage error.
"""

import json
import os
import re
import sys
from datetime import datetime

from conductorone_sdk import SDK
from conductorone_sdk.models import errors, shared

from sdk_users_roles import Mismatch, access_token, check, known, require_env

ID = re.compile(r"^[0-9a-f]{24}$")

# The number of apps the script creates besides the one it changes, so that apps.list has three pages of ten.
MORE_APPS = 22


def expect_status(status, what, call):
    """Runs `call`, which must fail with an SDKError of HTTP `status`."""
    try:
        call()
    except errors.SDKError as error:
        check(error.status_code == status, f"{what}: status {error.status_code}, want {status}: {error.body}")
        body = json.loads(error.body)
        check(isinstance(body.get("code"), int) and body.get("message"), f"{what}: error body {error.body}")
        return
    raise Mismatch(f"{what} succeeded, want HTTP {status}")


def check_time(where, name, value):
    """A time the SDK parsed: a timezone-aware datetime."""
    check(isinstance(value, datetime) and value.tzinfo is not None, f"{where}: {name} {value!r}")


def check_app(app, where, want):
    """Compares a typed SDK App with `want`, a dict of attribute names and values, and checks the fields every
    app has: a 24-hex id, the 64-bit user count parsed from its string, times, not deleted."""
    check(app is not None, f"{where}: no app")
    check(isinstance(app.id, str) and ID.match(app.id), f"{where}: id {app.id!r}")
    for name, value in want.items():
        got = getattr(app, name)
        check(got == value, f"{where}: {name} {got!r}, want {value!r}")
    matching = app.identity_matching
    check(known(shared.IdentityMatching, matching), f"{where}: identity_matching {matching!r} is not a known enum")
    check(app.user_count == 0 and isinstance(app.user_count, int), f"{where}: user_count {app.user_count!r}")
    check(app.is_directory is False, f"{where}: is_directory {app.is_directory!r}")
    check_time(where, "created_at", app.created_at)
    check_time(where, "updated_at", app.updated_at)
    check(app.updated_at >= app.created_at, f"{where}: updated_at {app.updated_at} before created_at {app.created_at}")
    check(app.deleted_at is None, f"{where}: deleted_at {app.deleted_at!r}")


def all_apps(sdk):
    """Every app through apps.list, ten to a page; returns (ids in order, page sizes)."""
    ids, pages, page_token = [], [], None
    for _ in range(100):
        request = {"page_size": 10}
        if page_token:
            request["page_token"] = page_token
        page = sdk.apps.list(request=request).list_apps_response
        apps = page.list or []
        pages.append(len(apps))
        for app in apps:
            check_app(app, f"apps.list page {len(pages)}", {})
        ids.extend(app.id for app in apps)
        page_token = page.next_page_token
        if not page_token:
            return ids, pages
    raise Mismatch("apps.list: nextPageToken never became empty")


def check_apps(sdk, ada):
    """apps create, get, update and list (paged) through the SDK, and two refusals. Returns the id of the app
    the owner checks use, created with `ada` as its owner, and the ids of the other apps, in creation order."""
    request = shared.CreateAppRequest(
        display_name="Wiki",
        description="the team wiki",
        monthly_cost_usd=7,
        identity_matching=shared.CreateAppRequestIdentityMatching.APP_USER_IDENTITY_MATCHING_STRICT,
        grant_policy_id="grant-1",
        revoke_policy_id="revoke-1",
        certify_policy_id="certify-1",
        strict_access_entitlement_provisioning=True,
        owners=[ada["id"]],
    )
    created = sdk.apps.create(request=request).create_app_response.app
    want = {
        "display_name": "Wiki",
        "description": "the team wiki",
        "monthly_cost_usd": 7,
        "identity_matching": shared.IdentityMatching.APP_USER_IDENTITY_MATCHING_STRICT,
        "grant_policy_id": "grant-1",
        "revoke_policy_id": "revoke-1",
        "certify_policy_id": "certify-1",
        "strict_access_entitlement_provisioning": True,
        "is_manually_managed": True,
        "icon_url": "",
    }
    check_app(created, "apps.create", want)
    app_id = created.id

    got = sdk.apps.get(request={"id": app_id}).get_app_response.app
    check(got == created, f"apps.get: {got!r}, want what create answered {created!r}")

    # The mask names what changes: the description sent is not in it and stays.
    update = {
        "id": app_id,
        "update_app_request": {
            "app": {
                "display_name": "Wiki 2",
                "description": "ignored",
                "monthly_cost_usd": 9,
                "strict_access_entitlement_provisioning": False,
            },
            "update_mask": "displayName,monthlyCostUsd,strictAccessEntitlementProvisioning",
        },
    }
    updated = sdk.apps.update(request=update).update_app_response.app
    changed = dict(want, display_name="Wiki 2", monthly_cost_usd=9, strict_access_entitlement_provisioning=False)
    check_app(updated, "apps.update", dict(changed, id=app_id, created_at=created.created_at))
    check(updated.updated_at > created.updated_at, f"apps.update: updated_at {updated.updated_at} not after create")
    got = sdk.apps.get(request={"id": app_id}).get_app_response.app
    check(got == updated, f"apps.get after update: {got!r}, want {updated!r}")

    # Enough apps for apps.list to page: ids are in creation order, each app once.
    more = [sdk.apps.create(request={"display_name": f"App {n}"}).create_app_response.app.id for n in range(MORE_APPS)]
    ids, pages = all_apps(sdk)
    check(pages == [10, 10, 3], f"apps.list: page sizes {pages}, want [10, 10, 3]")
    check(ids == [app_id] + more, f"apps.list: ids {ids}, want every app once in creation order")

    expect_status(404, "apps.get of an unknown app", lambda: sdk.apps.get(request={"id": "0123456789abcdef01234567"}))
    expect_status(400, "apps.create without a display name", lambda: sdk.apps.create(request={"display_name": ""}))
    return app_id, more


def owner_ids(sdk, app_id):
    """app_owners.list_owner_i_ds, sorted."""
    response = sdk.app_owners.list_owner_i_ds(request={"app_id": app_id}).list_app_owner_i_ds_response
    return sorted(response.user_ids or [])


def check_owner_ids(sdk, app_id, want_users, after):
    """app_owners.list_owner_i_ds names exactly `want_users`."""
    ids = owner_ids(sdk, app_id)
    want = sorted(user["id"] for user in want_users)
    check(ids == want, f"list_owner_i_ds after {after}: {ids}, want {want}")


def check_owner_list(sdk, app_id, want_users):
    """app_owners.list: the owners as typed SDK Users, in the order they became owners."""
    page = sdk.app_owners.list(request={"app_id": app_id, "page_size": 10}).list_app_owners_response
    users = page.list or []
    check(not page.next_page_token, f"app_owners.list: nextPageToken {page.next_page_token!r} on the only page")
    got = [(user.id, user.email, user.display_name) for user in users]
    want = [(user["id"], user["email"], user["displayName"]) for user in want_users]
    check(got == want, f"app_owners.list: (id, email, display_name) {got}, want {want}")
    for user in users:
        check(user.status == shared.UserStatus.ENABLED, f"app_owners.list: {user.email} status {user.status!r}")
        check_time(f"app_owners.list: {user.email}", "created_at", user.created_at)


def check_owners(sdk, app_id, users):
    """Every v1 owner operation through the SDK, each followed by the reads that show its effect."""
    ada, bob, cy = users
    check_owner_ids(sdk, app_id, [ada], "apps.create with owners")
    check_owner_list(sdk, app_id, [ada])

    for _ in range(2):  # Adding an owner again changes nothing and succeeds.
        response = sdk.app_owners.add(request={"app_id": app_id, "user_id": bob["id"]})
        check(response.status_code == 200 and response.add_app_owner_response is not None, f"add: {response!r}")
    check_owner_ids(sdk, app_id, [ada, bob], "add")
    check_owner_list(sdk, app_id, [ada, bob])

    response = sdk.app_owners.remove(request={"app_id": app_id, "user_id": ada["id"]})
    check(response.status_code == 200 and response.remove_app_owner_response is not None, f"remove: {response!r}")
    check_owner_ids(sdk, app_id, [bob], "remove")
    remove_again = {"app_id": app_id, "user_id": ada["id"]}
    expect_status(404, "remove of a user that is no owner", lambda: sdk.app_owners.remove(request=remove_again))

    request = {"app_id": app_id, "set_app_owners_request": {"user_ids": [cy["id"], ada["id"]]}}
    response = sdk.app_owners.set(request=request)
    check(response.status_code == 200 and response.set_app_owners_response is not None, f"set: {response!r}")
    check_owner_ids(sdk, app_id, [ada, cy], "set")
    check_owner_list(sdk, app_id, [cy, ada])

    request = {"app_id": app_id, "delete_app_owners_request": {"user_ids": [ada["id"], bob["id"]]}}
    response = sdk.app_owners.delete(request=request)
    check(response.status_code == 200 and response.delete_app_owners_response is not None, f"delete: {response!r}")
    check_owner_ids(sdk, app_id, [cy], "delete")
    check_owner_list(sdk, app_id, [cy])

    unknown = "0123456789abcdef01234567"
    add_unknown = {"app_id": app_id, "user_id": unknown}
    expect_status(404, "add of an unknown user", lambda: sdk.app_owners.add(request=add_unknown))
    expect_status(404, "list_owner_i_ds of an unknown app", lambda: owner_ids(sdk, unknown))


def check_app_delete(sdk, app_id, others):
    """apps.delete; the app is then gone from get, list and its owners."""
    response = sdk.apps.delete(request={"id": app_id})
    check(response.status_code == 200 and response.delete_app_response is not None, f"apps.delete: {response!r}")
    expect_status(404, "apps.get of a deleted app", lambda: sdk.apps.get(request={"id": app_id}))
    expect_status(404, "apps.delete of a deleted app", lambda: sdk.apps.delete(request={"id": app_id}))
    expect_status(404, "list_owner_i_ds of a deleted app", lambda: owner_ids(sdk, app_id))
    ids, _ = all_apps(sdk)
    check(ids == others, f"apps.list after delete: {ids}, want the other apps {others}")


def main():
    url = require_env("ONRAMP_URL").rstrip("/")
    users = json.loads(require_env("ONRAMP_OWNER_USERS"))
    if len(users) != 3:
        print("usage error: ONRAMP_OWNER_USERS must list three users", file=sys.stderr)
        sys.exit(2)
    token = access_token(url)
    # Both schemes are required by the SDK's Security model; `oauth` is applied last, so it is the one sent.
    sdk = SDK(server_url=url, security=shared.Security(bearer_auth=token, oauth=token))
    app_id, others = check_apps(sdk, users[0])
    check_owners(sdk, app_id, users)
    check_app_delete(sdk, app_id, others)
    print(f"ok: {1 + MORE_APPS} apps and their owners checked through conductorone-sdk")


if __name__ == "__main__":
    try:
        main()
    except Mismatch as mismatch:
        print(f"mismatch: {mismatch}", file=sys.stderr)
        sys.exit(1)
    except errors.SDKBaseError as error:
        print(f"the SDK raised: {error}", file=sys.stderr)
        sys.exit(1)
