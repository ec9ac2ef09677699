//! The list answer (RFC 7644 §3.4.2): the `ListResponse` body, `startIndex`/`count` paging (§3.4.2.4):
//! 1-based, a `startIndex` below 1 is 1, a negative `count` is 0, and a `count` over the server's
//! `maxResults` is `maxResults`; and the body of `POST /.search` (§3.4.3).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::error::{ScimError, ScimResult, scim_json};

pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// The page a list request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    /// 1-based index of the first result.
    pub start_index: usize,
    /// The most results on the page.
    pub count: usize,
}

/// An integer query parameter; digits past `i64` saturate rather than fail.
fn integer(text: &str, parameter: &str) -> ScimResult<i64> {
    let text = text.trim();
    if let Ok(value) = text.parse::<i64>() {
        return Ok(value);
    }
    let (negative, digits) = match text.strip_prefix('-') {
        Some(digits) => (true, digits),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if !digits.is_empty() && digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return Ok(if negative { i64::MIN } else { i64::MAX });
    }
    Err(ScimError::invalid_value(format!("{parameter} must be an integer, not \"{text}\"")))
}

impl Page {
    /// The page from the query's `startIndex` and `count`; without `count`, `max_results`.
    pub fn parse(start_index: Option<&str>, count: Option<&str>, max_results: usize) -> ScimResult<Page> {
        let start_index = start_index.map(|text| integer(text, "startIndex")).transpose()?;
        let count = count.map(|text| integer(text, "count")).transpose()?;
        Ok(Page::clamped(start_index, count, max_results))
    }

    /// The page from numbers as given, clamped as the RFC says.
    pub fn clamped(start_index: Option<i64>, count: Option<i64>, max_results: usize) -> Page {
        let start_index = start_index.map_or(1, |start| usize::try_from(start.max(1)).unwrap_or(usize::MAX));
        let count =
            count.map_or(max_results, |count| usize::try_from(count.max(0)).unwrap_or(usize::MAX).min(max_results));
        Page { start_index, count }
    }

    /// How many results come before the page.
    pub fn offset(&self) -> usize {
        self.start_index - 1
    }

    /// The page's part of every result.
    pub fn slice<'a, T>(&self, all: &'a [T]) -> &'a [T] {
        let start = self.offset().min(all.len());
        let end = start.saturating_add(self.count).min(all.len());
        &all[start..end]
    }
}

pub const SEARCH_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// The body of `POST /.search` (RFC 7644 §3.4.3): the query parameters of a list, as JSON. `attributes`
/// and `excludedAttributes` are kept as the comma lists the query string would carry, for
/// [`super::projection::Projection::parse`]; `sortBy` and `sortOrder` are read and ignored, as sorting is
/// not offered (`sort.supported` false).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchRequest {
    pub filter: Option<String>,
    pub attributes: Option<String>,
    pub excluded_attributes: Option<String>,
    pub page: Page,
}

impl SearchRequest {
    pub fn parse(body: &Value, max_results: usize) -> ScimResult<SearchRequest> {
        let body = body.as_object().ok_or_else(|| ScimError::invalid_syntax("the body must be a JSON object"))?;
        let get = |name: &str| body.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value);
        let listed = get("schemas").and_then(Value::as_array).is_some_and(|schemas| {
            schemas.iter().any(|urn| urn.as_str().is_some_and(|urn| urn.eq_ignore_ascii_case(SEARCH_REQUEST_SCHEMA)))
        });
        if !listed {
            return Err(ScimError::invalid_syntax(format!("schemas must list {SEARCH_REQUEST_SCHEMA}")));
        }
        let filter = match get("filter") {
            None | Some(Value::Null) => None,
            Some(Value::String(filter)) => Some(filter.clone()),
            Some(_) => return Err(ScimError::invalid_filter("filter must be a string")),
        };
        let names = |name: &str| -> ScimResult<Option<String>> {
            match get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Array(items)) => {
                    let names: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
                    let names = names
                        .ok_or_else(|| ScimError::invalid_value(format!("{name} must be a list of attribute names")))?;
                    Ok(Some(names.join(",")))
                }
                Some(Value::String(list)) => Ok(Some(list.clone())),
                Some(_) => Err(ScimError::invalid_value(format!("{name} must be a list of attribute names"))),
            }
        };
        let number = |name: &str| -> ScimResult<Option<i64>> {
            match get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Number(number)) => match (number.as_i64(), number.as_u64()) {
                    (Some(value), _) => Ok(Some(value)),
                    (None, Some(_)) => Ok(Some(i64::MAX)),
                    _ => Err(ScimError::invalid_value(format!("{name} must be an integer"))),
                },
                Some(Value::String(text)) => integer(text, name).map(Some),
                Some(_) => Err(ScimError::invalid_value(format!("{name} must be an integer"))),
            }
        };
        let page = Page::clamped(number("startIndex")?, number("count")?, max_results);
        Ok(SearchRequest {
            filter,
            attributes: names("attributes")?,
            excluded_attributes: names("excludedAttributes")?,
            page,
        })
    }
}

/// A `ListResponse`: how many results in all, where the page starts, and the page's resources.
#[derive(Clone, Debug, PartialEq)]
pub struct ListResponse {
    pub total_results: usize,
    pub start_index: usize,
    pub resources: Vec<Value>,
}

impl ListResponse {
    pub fn new(total_results: usize, page: Page, resources: Vec<Value>) -> Self {
        ListResponse { total_results, start_index: page.start_index, resources }
    }

    /// The page of a list held whole (the discovery lists, a filtered scan).
    pub fn from_all(all: &[Value], page: Page) -> Self {
        ListResponse::new(all.len(), page, page.slice(all).to_vec())
    }

    pub fn body(&self) -> Value {
        json!({
            "schemas": [LIST_RESPONSE_SCHEMA],
            "totalResults": self.total_results,
            "startIndex": self.start_index,
            "itemsPerPage": self.resources.len(),
            "Resources": self.resources,
        })
    }
}

impl IntoResponse for ListResponse {
    fn into_response(self) -> Response {
        scim_json(StatusCode::OK, &self.body())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header;
    use proptest::prelude::*;

    #[test]
    fn defaults_and_clamps_follow_the_rfc() {
        assert_eq!(Page::parse(None, None, 100).unwrap(), Page { start_index: 1, count: 100 });
        assert_eq!(Page::parse(Some("0"), Some("-5"), 100).unwrap(), Page { start_index: 1, count: 0 });
        assert_eq!(Page::parse(Some("-3"), Some("10"), 100).unwrap(), Page { start_index: 1, count: 10 });
        assert_eq!(Page::parse(Some("11"), Some("500"), 100).unwrap(), Page { start_index: 11, count: 100 });
        assert_eq!(Page::parse(Some(" 2 "), Some("+7"), 100).unwrap(), Page { start_index: 2, count: 7 });
        let huge = Page::parse(Some("99999999999999999999999"), Some("99999999999999999999"), 100).unwrap();
        assert_eq!(huge.count, 100);
        assert!(huge.slice(&[1, 2, 3]).is_empty());
        assert_eq!(Page::parse(Some("-99999999999999999999"), None, 5).unwrap().start_index, 1);
    }

    #[test]
    fn non_integers_are_invalid_values_naming_the_parameter() {
        let error = Page::parse(Some("first"), None, 10).unwrap_err();
        assert_eq!(error.scim_type, Some(crate::scim::error::ScimType::InvalidValue));
        assert!(error.detail.contains("startIndex"));
        assert!(Page::parse(None, Some("1.5"), 10).unwrap_err().detail.contains("count"));
        assert!(Page::parse(None, Some(""), 10).is_err());
    }

    #[test]
    fn pages_slice_from_one() {
        let all: Vec<Value> = (1..=5).map(Value::from).collect();
        let page = Page::parse(Some("2"), Some("2"), 10).unwrap();
        assert_eq!(page.offset(), 1);
        let list = ListResponse::from_all(&all, page);
        assert_eq!(
            list.body(),
            json!({"schemas": [LIST_RESPONSE_SCHEMA], "totalResults": 5, "startIndex": 2, "itemsPerPage": 2, "Resources": [2, 3]})
        );
        let past = ListResponse::from_all(&all, Page::parse(Some("9"), None, 10).unwrap());
        assert_eq!((past.total_results, past.resources.len(), past.body()["itemsPerPage"].clone()), (5, 0, json!(0)));
        let none = ListResponse::from_all(&all, Page::parse(None, Some("0"), 10).unwrap());
        assert_eq!(none.body()["totalResults"], 5, "count=0 asks for the total alone");
        let response = none.into_response();
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/scim+json");
    }

    #[test]
    fn a_search_request_is_the_query_as_json() {
        let body = json!({
            "schemas": [SEARCH_REQUEST_SCHEMA],
            "attributes": ["displayName", "userName"],
            "excludedAttributes": null,
            "filter": "displayName sw \"smith\"",
            "startIndex": 0,
            "count": 1000,
            "sortBy": "userName",
        });
        let request = SearchRequest::parse(&body, 100).unwrap();
        assert_eq!(
            request,
            SearchRequest {
                filter: Some("displayName sw \"smith\"".to_string()),
                attributes: Some("displayName,userName".to_string()),
                excluded_attributes: None,
                page: Page { start_index: 1, count: 100 },
            }
        );
        let bare = SearchRequest::parse(&json!({"schemas": [SEARCH_REQUEST_SCHEMA]}), 10).unwrap();
        assert_eq!((bare.filter, bare.page), (None, Page { start_index: 1, count: 10 }));
        let error = |body: Value| SearchRequest::parse(&body, 10).unwrap_err();
        assert_eq!(error(json!({"filter": "a pr"})).scim_type, Some(crate::scim::error::ScimType::InvalidSyntax));
        assert_eq!(
            error(json!({"schemas": [SEARCH_REQUEST_SCHEMA], "filter": 3})).scim_type,
            Some(crate::scim::error::ScimType::InvalidFilter)
        );
        assert!(error(json!({"schemas": [SEARCH_REQUEST_SCHEMA], "attributes": [1]})).detail.contains("attributes"));
        assert!(error(json!({"schemas": [SEARCH_REQUEST_SCHEMA], "count": 1.5})).detail.contains("count"));
        let huge = SearchRequest::parse(
            &json!({"schemas": [SEARCH_REQUEST_SCHEMA], "startIndex": 18446744073709551615u64}),
            10,
        )
        .unwrap();
        assert_eq!(huge.page.start_index, i64::MAX as usize);
    }

    proptest! {
        #[test]
        fn a_page_is_never_longer_than_asked_nor_past_the_end(start in any::<i64>(), count in any::<i64>(), len in 0usize..50, max in 0usize..30) {
            let page = Page::parse(Some(&start.to_string()), Some(&count.to_string()), max).unwrap();
            prop_assert!(page.start_index >= 1 && page.count <= max);
            let all: Vec<usize> = (0..len).collect();
            let slice = page.slice(&all);
            prop_assert!(slice.len() <= page.count);
            prop_assert_eq!(slice.first().copied(), all.get(page.offset()).copied().filter(|_| page.count > 0));
        }
    }
}
