"""Drives user search on a running onramp through the official ConductorOne Python SDK (conductorone-sdk 0.17.2).

A text search is paged with the SDK's own `.next()` until it returns None; the script checks that the pages
hold exactly the expected users, in the expected order, ten to a page, none twice. Then a filtered search
with an expand mask checks the typed `expanded` objects and the `managersPath` that points at them.

Environment:
    ONRAMP_URL             the server (required)
    ONRAMP_CLIENT_ID       a client id and secret, exchanged for an access token (or ONRAMP_TOKEN)
    ONRAMP_CLIENT_SECRET
    ONRAMP_SEARCH          JSON {"query": "...", "ids": [the matching user ids in result order],
                           "department": "...", "departmentIds": [ids in that department, in id order],
                           "managerId": "..."} (required)

Exits 0 when every check passes, 1 with a message on the first mismatch, 2 on a usage error.
"""

import json
import sys

from conductorone_sdk import SDK
from conductorone_sdk.models import errors, shared

from sdk_users_roles import Mismatch, access_token, check, require_env


def walk(sdk, request):
    """Every page of a search, following the SDK's `.next()`; returns the pages' user ids."""
    pages = []
    response = sdk.user_search.search(request=request)
    while response is not None:
        check(response.status_code == 200, f"page {len(pages) + 1}: status {response.status_code}")
        body = response.search_users_response
        pages.append([view.user.id for view in body.list or []])
        check(len(pages) < 100, "the search never reached its last page")
        response = response.next()
    return pages


def check_paged_text_search(sdk, spec):
    pages = walk(sdk, shared.SearchUsersRequest(query=spec["query"], page_size=10))
    sizes = [len(page) for page in pages]
    want = spec["ids"]
    full, rest = divmod(len(want), 10)
    check(sizes == [10] * full + ([rest] if rest else []), f"page sizes {sizes} for {len(want)} users")
    got = [user_id for page in pages for user_id in page]
    check(len(set(got)) == len(got), "a user came twice")
    check(got == want, f"results in rank and id order:\n got {got}\nwant {want}")
    return len(pages)


def check_filtered_search_with_expansion(sdk, spec):
    request = shared.SearchUsersRequest(
        departments=[spec["department"]],
        page_size=10,
        user_expand_mask=shared.UserExpandMask(paths=["manager_ids"]),
    )
    pages = walk(sdk, request)
    got = [user_id for page in pages for user_id in page]
    check(got == spec["departmentIds"], f"department filter:\n got {got}\nwant {spec['departmentIds']}")

    body = sdk.user_search.search(request=request).search_users_response
    expanded = body.expanded or []
    for view in body.list:
        check(view.managers_path is not None, f"{view.user.id} has a manager, so a managersPath")
        index = int(view.managers_path.removeprefix("$.expanded[").removesuffix("]"))
        manager = expanded[index]
        check(manager.at_type == "type.googleapis.com/c1.api.user.v1.User", f"@type {manager.at_type}")
        check(manager.additional_properties.get("id") == spec["managerId"], f"manager {manager.additional_properties}")
    check(len(expanded) == 1, f"the one shared manager is listed once per page, not {len(expanded)} times")


def main():
    url = require_env("ONRAMP_URL").rstrip("/")
    spec = json.loads(require_env("ONRAMP_SEARCH"))
    token = access_token(url)
    sdk = SDK(server_url=url, security=shared.Security(bearer_auth=token, oauth=token))
    pages = check_paged_text_search(sdk, spec)
    check_filtered_search_with_expansion(sdk, spec)
    print(f"ok: {len(spec['ids'])} users over {pages} pages with .next(), filters and expansion checked")


if __name__ == "__main__":
    try:
        main()
    except Mismatch as mismatch:
        print(f"mismatch: {mismatch}", file=sys.stderr)
        sys.exit(1)
    except errors.SDKBaseError as error:
        print(f"the SDK raised: {error}", file=sys.stderr)
        sys.exit(1)
