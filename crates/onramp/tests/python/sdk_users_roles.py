"""Drives a running onramp through the official ConductorOne Python SDK (conductorone-sdk 0.17.2).

The SDK is the client: users get and list (paged), roles list and get, and auth introspect go through its
typed methods, and the script checks the typed objects it returns (ids, emails, enum members, times).
SDK 0.17.2 has no method for user introspect (POST /api/v1/users/introspect), so that call goes through
the SDK's own HTTP client and security headers and is parsed into the SDK's UserServiceGetResponse model.

Environment:
    ONRAMP_URL               the server, such as http://127.0.0.1:8080 (required)
    ONRAMP_TOKEN             an access token; or else
    ONRAMP_CLIENT_ID         a client id and secret, exchanged for an access token at /auth/v1/token
    ONRAMP_CLIENT_SECRET
    ONRAMP_ADMIN_EMAIL       the email of the caller's own user (required)
    ONRAMP_EXPECTED_USERS    a JSON list of users the caller's tenant holds besides the caller, each
                             {"id", "email", "displayName", "status", "type", "roleIds"}; optional "managerIds";
                             "email" "" for a user without an email

Exits 0 when every check passes, 1 with a message on the first mismatch, 2 on a usage error.
"""

import json
import os
import sys
from datetime import datetime

import httpx
from conductorone_sdk import SDK, utils
from conductorone_sdk.models import errors, shared

ROLE_NAMES = {
    "000000000000000000000001": "super-admin",
    "000000000000000000000002": "admin",
    "000000000000000000000003": "read-only-admin",
    "000000000000000000000004": "directory-admin",
    "000000000000000000000005": "basic-user",
}


class Mismatch(Exception):
    """A response that differs from what onramp must return."""


def check(condition, message):
    """Raises a Mismatch with `message` unless `condition` holds."""
    if not condition:
        raise Mismatch(message)


def require_env(name):
    """The value of a required environment variable; exits 2 when it is missing."""
    value = os.environ.get(name, "")
    if not value:
        print(f"usage error: {name} must be set", file=sys.stderr)
        sys.exit(2)
    return value


def access_token(url):
    """ONRAMP_TOKEN, or a token obtained with the client credentials grant (the SDK does not do this)."""
    token = os.environ.get("ONRAMP_TOKEN", "")
    if token:
        return token
    form = {
        "grant_type": "client_credentials",
        "client_id": require_env("ONRAMP_CLIENT_ID"),
        "client_secret": require_env("ONRAMP_CLIENT_SECRET"),
    }
    response = httpx.post(f"{url}/auth/v1/token", data=form, timeout=30)
    check(response.status_code == 200, f"token request: {response.status_code} {response.text}")
    body = response.json()
    check(body.get("token_type") == "Bearer", f"token_type: {body}")
    return body["access_token"]


def known(enum, value):
    """Whether `value` is one of the enum's names. The SDK's open enums keep the wire string, so a value
    outside the enum would arrive as a plain string without failing."""
    return value in {member.value for member in enum}


def check_user(user, want):
    """Compares a typed SDK User with the expected JSON user."""
    where = f"user {want['email'] or want['id']}"
    check(user.id == want["id"], f"{where}: id {user.id!r}, want {want['id']!r}")
    check(user.email == want["email"], f"{where}: email {user.email!r}")
    check(user.display_name == want["displayName"], f"{where}: display_name {user.display_name!r}")
    check(known(shared.UserStatus, user.status), f"{where}: status {user.status!r} is not a known enum")
    check(user.status == shared.UserStatus(want["status"]), f"{where}: status {user.status!r}")
    check(known(shared.Type, user.type), f"{where}: type {user.type!r} is not a known enum")
    check(user.type == shared.Type(want["type"]), f"{where}: type {user.type!r}")
    check(user.directory_status == shared.DirectoryStatus.ENABLED, f"{where}: directory_status {user.directory_status!r}")
    check(sorted(user.role_ids or []) == sorted(want["roleIds"]), f"{where}: role_ids {user.role_ids!r}")
    check(list(user.manager_ids or []) == want.get("managerIds", []), f"{where}: manager_ids {user.manager_ids!r}")
    if want["email"]:
        check(user.emails and user.emails[0] == want["email"], f"{where}: emails {user.emails!r}")
    else:
        # A user without an email (provisioned by SCIM without one): "" and no emails.
        check(not user.emails, f"{where}: emails {user.emails!r}")
    for name in ("created_at", "updated_at"):
        value = getattr(user, name)
        check(isinstance(value, datetime) and value.tzinfo is not None, f"{where}: {name} {value!r}")
    check(user.deleted_at is None, f"{where}: deleted_at {user.deleted_at!r}")


def check_users(sdk, expected, admin_id):
    """users.get for each expected user, then users.list paged ten at a time through every page."""
    for want in expected:
        response = sdk.user.get(request={"id": want["id"]})
        view = response.user_service_get_response.user_view
        check(view is not None and view.user is not None, f"get {want['id']}: no userView.user")
        check_user(view.user, want)

    seen = []
    page_token = None
    for _ in range(100):
        request = {"page_size": 10}
        if page_token:
            request["page_token"] = page_token
        page = sdk.user.list(request=request).user_service_list_response
        views = page.list or []
        check(len(views) <= 10, f"list: a page of {len(views)} users for page_size 10")
        seen.extend(view.user.id for view in views)
        page_token = page.next_page_token
        if not page_token:
            break
        check(len(views) == 10, f"list: a short page of {len(views)} users before the last")
    else:
        raise Mismatch("list: nextPageToken never became empty")
    want_ids = sorted([admin_id] + [want["id"] for want in expected])
    check(seen == want_ids, f"list: ids {seen}, want each live user once in id order {want_ids}")


def check_forged_token_is_refused(sdk):
    """A forged page token is a 400 that the SDK raises as an SDKError."""
    try:
        sdk.user.list(request={"page_size": 10, "page_token": "forged"})
    except errors.SDKError as error:
        check(error.status_code == 400, f"forged page token: status {error.status_code}")
        return
    raise Mismatch("list with a forged page token succeeded")


def check_roles(sdk):
    """roles.list returns the five built-ins; roles.get finds one by id and by slug."""
    roles = sdk.roles.list().list_roles_response
    names = {role.id: role.name for role in roles.list or []}
    check(names == ROLE_NAMES, f"roles.list: {names}")
    check(not roles.next_page_token, f"roles.list: nextPageToken {roles.next_page_token!r}")
    for reference in ("000000000000000000000002", "admin"):
        role = sdk.roles.get(request={"role_id": reference}).get_roles_response.role
        check(role is not None and role.id == "000000000000000000000002", f"roles.get {reference}: {role!r}")
        check(role.name == "admin" and role.display_name == "Administrator", f"roles.get {reference}: {role!r}")
        check(role.system_builtin is True, f"roles.get {reference}: system_builtin {role.system_builtin!r}")
        check("user:write" in (role.permissions or []), f"roles.get {reference}: permissions {role.permissions!r}")
    try:
        sdk.roles.get(request={"role_id": "no-such-role"})
    except errors.SDKError as error:
        check(error.status_code == 404, f"roles.get no-such-role: status {error.status_code}")
    else:
        raise Mismatch("roles.get no-such-role succeeded")


def check_introspection(sdk, admin_email):
    """auth.introspect names the caller; user introspect returns the caller's own user. Returns its id."""
    who = sdk.auth.introspect().introspect_response
    check(who is not None and who.user_id, f"auth.introspect: {who!r}")
    check(who.principle_id and who.principle_id != who.user_id, f"auth.introspect: principle_id {who.principle_id!r}")
    check("000000000000000000000001" in (who.roles or []), f"auth.introspect: roles {who.roles!r}")
    check("user:read" in (who.permissions or []), f"auth.introspect: permissions {who.permissions!r}")

    # No typed method in SDK 0.17.2: the SDK's client, its security headers and its response model.
    config = sdk.sdk_configuration
    security = config.security() if callable(config.security) else config.security
    headers, _ = utils.get_security(security)
    url = f"{config.get_server_details()[0]}/api/v1/users/introspect"
    response = config.client.post(url, headers=headers, json={"expandMask": None})
    check(response.status_code == 200, f"user introspect: {response.status_code} {response.text}")
    me = utils.unmarshal_json(response.text, shared.UserServiceGetResponse).user_view.user
    check(me.id == who.user_id, f"user introspect: id {me.id!r}, auth introspect says {who.user_id!r}")
    check(me.email == admin_email, f"user introspect: email {me.email!r}, want {admin_email!r}")
    check(me.status == shared.UserStatus.ENABLED, f"user introspect: status {me.status!r}")
    return who.user_id


def main():
    url = require_env("ONRAMP_URL").rstrip("/")
    admin_email = require_env("ONRAMP_ADMIN_EMAIL")
    expected = json.loads(os.environ.get("ONRAMP_EXPECTED_USERS", "[]"))
    token = access_token(url)
    # Both schemes are required by the SDK's Security model; `oauth` is applied last, so it is the one sent.
    sdk = SDK(server_url=url, security=shared.Security(bearer_auth=token, oauth=token))
    admin_id = check_introspection(sdk, admin_email)
    check_roles(sdk)
    check_users(sdk, expected, admin_id)
    check_forged_token_is_refused(sdk)
    print(f"ok: {len(expected)} users, roles and introspection checked through conductorone-sdk")


if __name__ == "__main__":
    try:
        main()
    except Mismatch as mismatch:
        print(f"mismatch: {mismatch}", file=sys.stderr)
        sys.exit(1)
    except errors.SDKBaseError as error:
        print(f"the SDK raised: {error}", file=sys.stderr)
        sys.exit(1)
