//! `POST /api/v1/search/users`: every filter of `SearchUsersRequest`, answered from the node's search index
//! (`crate::search`), with keyset page tokens over (rank, id) and `expandMask` expansion.

use schemars::JsonSchema;
use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use onramp_domain::user::{User, UserOrigin, UserStatus, UserType};
use onramp_domain::{BuiltinRole, Id};
use onramp_search::{Cursor, Query, Rank};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult, Code};
use crate::extract::ApiJson;
use crate::paging::{fingerprint, page_size};
use crate::principal::Principal;
use crate::routes::roles::role_json;
use crate::state::AppState;
use crate::wire::app::app_json;
use crate::wire::enums::{DelegateStatusEnum, EnumName, UserOriginEnum, UserStatusEnum, UserTypeEnum};
use crate::wire::mask::ExpandMask;
use crate::wire::user::{user_json, user_view};
use crate::wire::user_input::enum_value;
use crate::wire::{to_text, to_value};

#[derive(Deserialize, Default, Debug, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct SearchUsersRequest {
    query: Option<String>,
    email: Option<String>,
    ids: Option<Vec<String>>,
    refs: Option<Vec<UserRef>>,
    exclude_ids: Option<Vec<String>>,
    role_ids: Option<Vec<String>>,
    manager_ids: Option<Vec<String>>,
    departments: Option<Vec<String>>,
    job_titles: Option<Vec<String>>,
    user_statuses: Option<Vec<EnumName<UserStatusEnum>>>,
    exclude_types: Option<Vec<EnumName<UserTypeEnum>>>,
    origins: Option<Vec<EnumName<UserOriginEnum>>>,
    exclude_origins: Option<Vec<EnumName<UserOriginEnum>>>,
    source_app_ids: Option<Vec<String>>,
    delegated_user_ids: Option<Vec<String>>,
    delegate_status: Option<EnumName<DelegateStatusEnum>>,
    is_delegate: Option<bool>,
    expand_mask: Option<ExpandMask>,
    #[schemars(with = "Option<i32>")]
    page_size: Option<i64>,
    page_token: Option<String>,
}

#[derive(Deserialize, Default, Debug, JsonSchema)]
#[serde(default)]
struct UserRef {
    id: Option<String>,
}

/// Parses a list of ids, naming the element at fault (`roleIds[2]`).
fn ids(field: &str, list: &Option<Vec<String>>) -> ApiResult<Vec<Id>> {
    list.iter()
        .flatten()
        .enumerate()
        .map(|(i, raw)| raw.parse().map_err(|error| ApiError::invalid_field(&format!("{field}[{i}]"), error)))
        .collect()
}

/// Parses a list of enum values, naming the element at fault and listing the accepted values.
fn enums<T: Copy, S: AsRef<str>>(
    field: &str,
    list: &Option<Vec<S>>,
    parse: fn(&str) -> Option<T>,
    all: &[T],
    name: fn(T) -> &'static str,
) -> ApiResult<Vec<T>> {
    // The field's name is made only for an error: this runs on every search.
    list.iter()
        .flatten()
        .enumerate()
        .map(|(i, raw)| match parse(raw.as_ref()) {
            Some(value) => Ok(value),
            None => enum_value(&format!("{field}[{i}]"), raw.as_ref(), parse, all, name),
        })
        .collect()
}

/// A search request as the handler uses it: the query, the page size, the page token still to decode (its
/// check needs the deployment's secret) and the expand paths.
#[derive(Debug)]
pub struct ParsedSearch {
    pub query: Query,
    pub page_size: usize,
    pub page_token: Option<String>,
    pub expand_paths: Vec<String>,
}

/// Parses the body of `POST /api/v1/search/users`, with no state and no I/O: what the handler does to its
/// body before anything is read, and what the fuzz target `search_request` feeds untrusted bytes to.
pub fn parse_search_request(body: &[u8]) -> ApiResult<ParsedSearch> {
    crate::extract::parse_json::<SearchUsersRequest>(body)?.parse()
}

impl SearchUsersRequest {
    fn parse(self) -> ApiResult<ParsedSearch> {
        let query = self.to_query()?;
        // Before the query is fingerprinted or searched: both cost in proportion to its size.
        query.check_limits().map_err(|error| ApiError::invalid_field(&error.field, error.message))?;
        Ok(ParsedSearch {
            query,
            page_size: page_size("pageSize", self.page_size)?,
            page_token: self.page_token,
            expand_paths: self.expand_mask.and_then(|mask| mask.paths).unwrap_or_default(),
        })
    }

    fn to_query(&self) -> ApiResult<Query> {
        let mut restrict = ids("ids", &self.ids)?;
        for (i, reference) in self.refs.iter().flatten().enumerate() {
            let raw = reference.id.as_deref().unwrap_or_default();
            restrict.push(raw.parse().map_err(|error| ApiError::invalid_field(&format!("refs[{i}].id"), error))?);
        }
        let role_ids = self
            .role_ids
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, raw)| {
                BuiltinRole::from_ref(raw)
                    .map(|role| role.id())
                    .ok_or_else(|| ApiError::invalid_field(&format!("roleIds[{i}]"), format!("no role {raw:?}")))
            })
            .collect::<ApiResult<_>>()?;
        let has_delegate = match self.delegate_status.as_deref().unwrap_or("") {
            "" | "DELEGATE_STATUS_UNSPECIFIED" => None,
            "DELEGATE_STATUS_HAS_DELEGATE" => Some(true),
            "DELEGATE_STATUS_NO_DELEGATE" => Some(false),
            _ => {
                return Err(ApiError::invalid_field(
                    "delegateStatus",
                    "must be one of DELEGATE_STATUS_UNSPECIFIED, DELEGATE_STATUS_HAS_DELEGATE, DELEGATE_STATUS_NO_DELEGATE",
                ));
            }
        };
        let statuses =
            enums("userStatuses", &self.user_statuses, UserStatus::parse, UserStatus::ALL, UserStatus::as_str)?;
        Ok(Query {
            text: self.query.clone().filter(|text| !text.trim().is_empty()),
            email: self.email.clone().filter(|email| !email.trim().is_empty()).map(|email| email.trim().to_string()),
            // `ids` and `refs` are one restriction; given and empty, they restrict to nothing.
            ids: (self.ids.as_ref().is_some_and(|l| !l.is_empty())
                || self.refs.as_ref().is_some_and(|l| !l.is_empty()))
            .then_some(restrict),
            exclude_ids: ids("excludeIds", &self.exclude_ids)?,
            role_ids,
            manager_ids: ids("managerIds", &self.manager_ids)?,
            departments: self.departments.clone().unwrap_or_default(),
            job_titles: self.job_titles.clone().unwrap_or_default(),
            // UNKNOWN is not a status a user can be searched by; the spec allows ENABLED, DISABLED, DELETED.
            statuses,
            exclude_types: enums(
                "excludeTypes",
                &self.exclude_types,
                UserType::parse,
                UserType::ALL,
                UserType::as_str,
            )?,
            origins: enums("origins", &self.origins, UserOrigin::parse, UserOrigin::ALL, UserOrigin::as_str)?,
            exclude_origins: enums(
                "excludeOrigins",
                &self.exclude_origins,
                UserOrigin::parse,
                UserOrigin::ALL,
                UserOrigin::as_str,
            )?,
            source_app_ids: ids("sourceAppIds", &self.source_app_ids)?,
            delegated_user_ids: ids("delegatedUserIds", &self.delegated_user_ids)?,
            has_delegate,
            is_delegate: self.is_delegate.filter(|is| *is),
        })
    }
}

/// Every field of `query` in one unambiguous byte string, for the page token's fingerprint: each value
/// length-prefixed, each list counted, each enum by name. It names every field of `Query` (a field added
/// there fails to compile here until it is covered), and costs far less per search than formatting the
/// query with `Debug`.
fn query_key(query: &Query) -> Vec<u8> {
    let Query {
        text,
        email,
        ids,
        exclude_ids,
        role_ids,
        manager_ids,
        departments,
        job_titles,
        statuses,
        exclude_types,
        origins,
        exclude_origins,
        source_app_ids,
        delegated_user_ids,
        has_delegate,
        is_delegate,
    } = query;
    let mut key = Vec::with_capacity(256);
    let bytes = |key: &mut Vec<u8>, value: &[u8]| {
        key.extend_from_slice(&(value.len() as u32).to_be_bytes());
        key.extend_from_slice(value);
    };
    let option = |key: &mut Vec<u8>, value: Option<&[u8]>| match value {
        None => key.push(0),
        Some(value) => {
            key.push(1);
            bytes(key, value);
        }
    };
    let list = |key: &mut Vec<u8>, values: &mut dyn ExactSizeIterator<Item = &[u8]>| {
        key.extend_from_slice(&(values.len() as u32).to_be_bytes());
        for value in values {
            bytes(key, value);
        }
    };
    let flag = |key: &mut Vec<u8>, value: &Option<bool>| key.push(value.map_or(0, |v| 1 + u8::from(v)));
    option(&mut key, text.as_deref().map(str::as_bytes));
    option(&mut key, email.as_deref().map(str::as_bytes));
    match ids {
        None => key.push(0),
        Some(ids) => {
            key.push(1);
            list(&mut key, &mut ids.iter().map(|id| id.as_bytes().as_slice()));
        }
    }
    for ids in [exclude_ids, role_ids, manager_ids, source_app_ids, delegated_user_ids] {
        list(&mut key, &mut ids.iter().map(|id| id.as_bytes().as_slice()));
    }
    for values in [departments, job_titles] {
        list(&mut key, &mut values.iter().map(|value| value.as_bytes()));
    }
    list(&mut key, &mut statuses.iter().map(|status| status.as_str().as_bytes()));
    list(&mut key, &mut exclude_types.iter().map(|t| t.as_str().as_bytes()));
    for origins in [origins, exclude_origins] {
        list(&mut key, &mut origins.iter().map(|origin| origin.as_str().as_bytes()));
    }
    flag(&mut key, has_delegate);
    flag(&mut key, is_delegate);
    key
}

/// What the page token's key holds: the rank and id of the last row of the page.
pub fn encode_cursor(cursor: &Cursor) -> Vec<u8> {
    let mut key = vec![cursor.rank as u8];
    key.extend_from_slice(cursor.id.as_bytes());
    key
}

/// The cursor a page token's key holds; None for anything else.
pub fn decode_cursor(key: &[u8]) -> Option<Cursor> {
    let (&rank, id) = key.split_first()?;
    let rank = [Rank::Exact, Rank::Prefix, Rank::Substring, Rank::Typo].into_iter().find(|r| *r as u8 == rank)?;
    Some(Cursor { rank, id: Id::from_bytes(id.try_into().ok()?) })
}

pub async fn search_users(
    State(state): State<AppState>,
    caller: Principal,
    ApiJson(request): ApiJson<SearchUsersRequest>,
) -> ApiResult<Response> {
    let ParsedSearch { query, page_size: size, page_token, expand_paths: paths } = request.parse()?;
    // The fingerprint covers every filter as parsed, so a token only continues the query that made it.
    let query_print = fingerprint(&[b"users.search".as_slice(), caller.tenant_id.as_bytes(), &query_key(&query)]);
    let after = match state.page_tokens.decode(page_token.as_deref(), &query_print)? {
        Some(key) => Some(
            decode_cursor(&key)
                .ok_or_else(|| ApiError::invalid_field("pageToken", "not a page token of this query"))?,
        ),
        None => None,
    };
    let started = std::time::Instant::now();
    let found = state.core.search_users(&caller, &query, after, size).await;
    // A search the caller may not make searched nothing.
    if let Some(metrics) =
        state.metrics.as_ref().filter(|_| !found.as_ref().is_err_and(|e| e.code == Code::PermissionDenied))
    {
        metrics.observe_search(started.elapsed());
    }
    let page = found?;
    let ids: Vec<Id> = page.hits.iter().map(|hit| hit.id).collect();
    let next = page.next.map(|cursor| state.page_tokens.encode(&query_print, &encode_cursor(&cursor)));
    let (list, expanded) = if paths.is_empty() {
        (cached_views(&state, &caller, &ids).await?, Vec::new())
    } else {
        let users = state.core.users_by_ids(&caller, &ids).await?;
        let mut expander = Expander::new(&paths);
        expander.load_related_users(&state, &caller, &users).await?;
        let mut list = Vec::with_capacity(users.len());
        for user in &users {
            let mut view = to_value(&user_view(user));
            expander.expand(&state, &caller, user, &mut view).await?;
            list.push(Arc::from(view.to_string()));
        }
        (list, expander.expanded)
    };
    // The views are JSON text already; the response is put together around them.
    let mut body = String::with_capacity(64 + list.iter().map(|view| view.len() + 1).sum::<usize>());
    body.push_str("{\"list\":[");
    for (i, view) in list.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(view);
    }
    body.push_str("],\"nextPageToken\":");
    body.push_str(&Value::from(next.unwrap_or_default()).to_string());
    body.push_str(",\"expanded\":");
    body.push_str(&Value::from(expanded).to_string());
    body.push('}');
    Ok(([(CONTENT_TYPE, "application/json")], body).into_response())
}

/// The shape of `POST /api/v1/search/users`'s answer (`SearchUsersResponse`), for its documentation: the
/// handler writes the same fields as text around the views it has already serialized, each a
/// [`UserViewBody`] with the `*Path` fields of its expansion.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchUsersBody {
    pub list: Vec<crate::wire::user::UserViewBody>,
    pub next_page_token: String,
    pub expanded: Vec<Value>,
}

/// One user's `UserView` expanded by `paths` (the paths of a `UserExpandMask`), with the objects it points
/// into: what `POST /api/v1/users/introspect` answers.
pub(crate) async fn expanded_view(
    state: &AppState,
    caller: &Principal,
    user: &User,
    paths: &[String],
) -> ApiResult<(Value, Vec<Value>)> {
    let mut view = to_value(&user_view(user));
    if paths.is_empty() {
        return Ok((view, Vec::new()));
    }
    let mut expander = Expander::new(paths);
    expander.load_related_users(state, caller, std::slice::from_ref(user)).await?;
    expander.expand(state, caller, user, &mut view).await?;
    Ok((view, expander.expanded))
}

/// The serialized views of `ids`, in order: from the cache, and the rest in one database read.
async fn cached_views(state: &AppState, caller: &Principal, ids: &[Id]) -> ApiResult<Vec<Arc<str>>> {
    let cache = state.core.search()?.views();
    let epoch = cache.epoch();
    let mut views = cache.get(ids);
    let missing: Vec<Id> = ids.iter().zip(&views).filter(|(_, view)| view.is_none()).map(|(id, _)| *id).collect();
    if missing.is_empty() {
        return Ok(views.into_iter().flatten().collect());
    }
    let read: HashMap<Id, Arc<str>> = state
        .core
        .users_by_ids(caller, &missing)
        .await?
        .iter()
        .map(|user| (user.id, Arc::from(to_text(&user_view(user)))))
        .collect();
    for (id, view) in ids.iter().zip(views.iter_mut()) {
        if view.is_none() {
            *view = read.get(id).cloned();
        }
    }
    cache.insert(epoch, read);
    Ok(views.into_iter().flatten().collect())
}

/// Fills the response's `expanded` list, each related object once per page, and points each view's
/// `*Path` fields at them: `$.expanded[N]`, or a JSONPath union `$.expanded[N,M]` when a user has several.
struct Expander {
    roles: bool,
    managers: bool,
    delegate: bool,
    directories: bool,
    expanded: Vec<Value>,
    /// Where each related object already is in `expanded`, by kind and id.
    positions: HashMap<(&'static str, Id), Option<usize>>,
    /// The managers and delegates of the page's users, read in one query.
    related_users: HashMap<Id, User>,
}

const ROLE_TYPE: &str = "type.googleapis.com/c1.api.iam.v1.Role";
const USER_TYPE: &str = "type.googleapis.com/c1.api.user.v1.User";
const APP_TYPE: &str = "type.googleapis.com/c1.api.app.v1.App";

impl Expander {
    fn new(paths: &[String]) -> Self {
        let all = paths.iter().any(|p| p == "*");
        let has = |name: &str| all || paths.iter().any(|p| p == name);
        Expander {
            roles: has("role_ids"),
            managers: has("manager_ids"),
            delegate: has("delegated_user_id"),
            directories: has("directory_ids"),
            expanded: Vec::new(),
            positions: HashMap::new(),
            related_users: HashMap::new(),
        }
    }

    /// Reads the managers and delegates that the expansion will list, all at once.
    async fn load_related_users(&mut self, state: &AppState, caller: &Principal, users: &[User]) -> ApiResult<()> {
        let mut ids: Vec<Id> = Vec::new();
        for user in users {
            if self.managers {
                ids.extend(&user.manager_ids);
            }
            if self.delegate {
                ids.extend(user.delegated_user_id);
            }
        }
        ids.sort();
        ids.dedup();
        let related = state.core.related_users(caller, users, &ids).await?;
        self.related_users = related.into_iter().map(|user| (user.id, user)).collect();
        Ok(())
    }

    async fn expand(&mut self, state: &AppState, caller: &Principal, user: &User, view: &mut Value) -> ApiResult<()> {
        let kinds: [(bool, &'static str, Vec<Id>, &str); 4] = [
            (self.roles, ROLE_TYPE, user.role_ids.clone(), "rolesPath"),
            (self.managers, USER_TYPE, user.manager_ids.clone(), "managersPath"),
            (self.delegate, USER_TYPE, user.delegated_user_id.into_iter().collect(), "delegatedUserPath"),
            (self.directories, APP_TYPE, user.directory_ids.clone(), "directoriesPath"),
        ];
        for (wanted, kind, related, path_field) in kinds {
            if !wanted || related.is_empty() {
                continue;
            }
            let mut indexes = Vec::new();
            for id in related {
                if let Some(index) = self.position(state, caller, user, kind, id).await? {
                    indexes.push(index.to_string());
                }
            }
            if !indexes.is_empty() {
                view[path_field] = json!(format!("$.expanded[{}]", indexes.join(",")));
            }
        }
        Ok(())
    }

    /// The index of a related object in `expanded`, adding it the first time; None when it does not exist.
    async fn position(
        &mut self,
        state: &AppState,
        caller: &Principal,
        user: &User,
        kind: &'static str,
        id: Id,
    ) -> ApiResult<Option<usize>> {
        if let Some(known) = self.positions.get(&(kind, id)) {
            return Ok(*known);
        }
        let object = match kind {
            ROLE_TYPE => {
                BuiltinRole::ALL.into_iter().find(|role| role.id() == id).map(|role| to_value(&role_json(role)))
            }
            USER_TYPE => self.related_users.get(&id).map(|user| to_value(&user_json(user))),
            _ => state.core.directory_of_user(caller, user, &id).await?.map(|app| to_value(&app_json(&app))),
        };
        let index = object.map(|mut object| {
            object.as_object_mut().expect("wire objects are JSON objects").insert("@type".into(), json!(kind));
            self.expanded.push(object);
            self.expanded.len() - 1
        });
        self.positions.insert((kind, id), index);
        Ok(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let cursor = Cursor { rank: Rank::Substring, id: Id::new() };
        assert_eq!(decode_cursor(&encode_cursor(&cursor)), Some(cursor));
        assert_eq!(decode_cursor(&[]), None);
        assert_eq!(decode_cursor(&[9; 13]), None, "no rank 9");
        assert_eq!(decode_cursor(&[0; 12]), None, "an id is 12 bytes");
    }

    #[test]
    fn the_request_parses_without_state() {
        let body = br#"{"query": "ada", "pageSize": 5, "pageToken": "t", "expandMask": {"paths": ["role_ids"]}}"#;
        let parsed = parse_search_request(body).unwrap();
        assert_eq!(parsed.query.text.as_deref(), Some("ada"));
        assert_eq!((parsed.page_size, parsed.page_token.as_deref()), (10, Some("t")));
        assert_eq!(parsed.expand_paths, ["role_ids"]);
        assert_eq!(parse_search_request(b"").unwrap().query, Query::default());
        let error = parse_search_request(br#"{"roleIds": ["root"]}"#).unwrap_err();
        assert!(error.message.starts_with("invalid roleIds[0]:"), "{}", error.message);
        let error = parse_search_request(b"{\"query\": 5}").unwrap_err();
        assert!(error.message.starts_with("invalid query:"), "{}", error.message);
    }

    /// Queries that differ in any one field, or only in where a value sits, have different keys; equal
    /// queries have equal keys.
    #[test]
    fn every_field_of_the_query_shapes_its_key() {
        let id = Id::new();
        let queries = [
            Query::default(),
            Query { text: Some("ada".into()), ..Default::default() },
            Query { text: Some(String::new()), ..Default::default() },
            Query { email: Some("ada".into()), ..Default::default() },
            Query { ids: Some(Vec::new()), ..Default::default() },
            Query { ids: Some(vec![id]), ..Default::default() },
            Query { exclude_ids: vec![id], ..Default::default() },
            Query { role_ids: vec![id], ..Default::default() },
            Query { manager_ids: vec![id], ..Default::default() },
            Query { departments: vec!["ab".into()], ..Default::default() },
            Query { departments: vec!["a".into(), "b".into()], ..Default::default() },
            Query { job_titles: vec!["ab".into()], ..Default::default() },
            Query { statuses: vec![UserStatus::Disabled], ..Default::default() },
            Query { exclude_types: vec![UserType::Service], ..Default::default() },
            Query { origins: vec![UserOrigin::Directory], ..Default::default() },
            Query { exclude_origins: vec![UserOrigin::Directory], ..Default::default() },
            Query { source_app_ids: vec![id], ..Default::default() },
            Query { delegated_user_ids: vec![id], ..Default::default() },
            Query { has_delegate: Some(false), ..Default::default() },
            Query { has_delegate: Some(true), ..Default::default() },
            Query { is_delegate: Some(true), ..Default::default() },
        ];
        let keys: Vec<Vec<u8>> = queries.iter().map(query_key).collect();
        for (i, key) in keys.iter().enumerate() {
            assert_eq!(key, &query_key(&queries[i].clone()), "query {i} keys the same twice");
            for (j, other) in keys.iter().enumerate().skip(i + 1) {
                assert_ne!(key, other, "queries {i} and {j} differ but share a key");
            }
        }
    }
}
