//! The filters of a query as one expression: the intersection of every given filter's postings, less the
//! exclusions.

use onramp_domain::Id;
use onramp_domain::user::UserStatus;
use roaring::RoaringBitmap;

use crate::Query;
use crate::expr::Node;
use crate::grams::substring_parts;
use crate::index::{Index, origin_index, status_index, type_index};
use crate::normalize::normalize;
use crate::tables::Facet;

/// The users holding any of `values`.
fn any_of<'a>(facet: &'a Facet<Id>, values: &[Id]) -> Node<'a> {
    Node::Or(values.iter().filter_map(|v| facet.get(v)).map(Node::Set).collect())
}

/// The users holding any of `values`, compared case-insensitively.
fn any_of_text<'a>(facet: &'a Facet<String>, values: &[String]) -> Node<'a> {
    let mut lower = String::new();
    let mut sets = Vec::new();
    for value in values {
        lower.clear();
        lower.extend(value.chars().flat_map(char::to_lowercase));
        sets.extend(facet.get(lower.as_str()).map(Node::Set));
    }
    Node::Or(sets)
}

impl Index {
    /// The users every filter of `query` lets through.
    pub(crate) fn filter_node(&self, query: &Query) -> Node<'_> {
        let mut must: Vec<Node<'_>> = Vec::new();
        if query.statuses.is_empty() {
            // Enabled or disabled: every user but the few of the other statuses, which are taken out of a
            // block in place (`Node::subtract_from`) where intersecting it with the live users is a bitmap's
            // worth of work a block.
            let other = UserStatus::ALL.iter().filter(|&&s| s != UserStatus::Enabled && s != UserStatus::Disabled);
            let other = other.map(|&s| Node::Set(&self.statuses[status_index(s)])).collect();
            must.push(Node::Not(Box::new(Node::Or(other))));
        } else {
            must.push(Node::Or(query.statuses.iter().map(|s| Node::Set(&self.statuses[status_index(*s)])).collect()));
        }
        if let Some(ids) = &query.ids {
            must.push(Node::Owned(ids.iter().filter_map(|id| self.lookup(*id)).collect()));
        }
        if !query.role_ids.is_empty() {
            must.push(any_of(&self.roles, &query.role_ids));
        }
        if !query.manager_ids.is_empty() {
            must.push(any_of(&self.managers, &query.manager_ids));
        }
        if !query.delegated_user_ids.is_empty() {
            must.push(any_of(&self.delegates, &query.delegated_user_ids));
        }
        if !query.departments.is_empty() {
            must.push(any_of_text(&self.departments, &query.departments));
        }
        if !query.job_titles.is_empty() {
            must.push(any_of_text(&self.job_titles, &query.job_titles));
        }
        // origins and sourceAppIds, when both are given, match users satisfying either.
        let origins = (!query.origins.is_empty())
            .then(|| query.origins.iter().map(|o| Node::Set(&self.origins[origin_index(*o)])).collect::<Vec<_>>());
        let sources = (!query.source_app_ids.is_empty()).then(|| any_of(&self.sources, &query.source_app_ids));
        match (origins, sources) {
            (Some(mut o), Some(s)) => {
                o.push(s);
                must.push(Node::Or(o));
            }
            (Some(o), None) => must.push(Node::Or(o)),
            (None, Some(s)) => must.push(s),
            (None, None) => {}
        }
        match query.has_delegate {
            Some(true) => must.push(Node::Set(&self.has_delegate)),
            Some(false) => must.push(Node::Not(Box::new(Node::Set(&self.has_delegate)))),
            None => {}
        }
        match query.is_delegate {
            Some(true) => must.push(Node::Set(&self.is_delegate)),
            Some(false) => must.push(Node::Not(Box::new(Node::Set(&self.is_delegate)))),
            None => {}
        }
        let mut excluded: Vec<Node<'_>> = Vec::new();
        excluded.extend(query.exclude_types.iter().map(|t| Node::Set(&self.types[type_index(*t)])));
        excluded.extend(query.exclude_origins.iter().map(|o| Node::Set(&self.origins[origin_index(*o)])));
        if !query.exclude_ids.is_empty() {
            excluded.push(Node::Owned(query.exclude_ids.iter().filter_map(|id| self.lookup(*id)).collect()));
        }
        if !excluded.is_empty() {
            must.push(Node::Not(Box::new(Node::Or(excluded))));
        }
        if let Some(email) = &query.email {
            let without_email = Node::And(must);
            let found = self.with_email(&without_email, email);
            return Node::Owned(found);
        }
        Node::And(must)
    }

    /// The users of `set` with `email` among their emails, compared in normalised form (so
    /// case-insensitively): those having every 4-gram of it, checked.
    fn with_email(&self, set: &Node<'_>, email: &str) -> RoaringBitmap {
        let key = normalize(email);
        let chars: Vec<char> = key.chars().collect();
        let Some(codes) = self.grams.codes.codes(&chars) else { return RoaringBitmap::new() };
        let candidates = if codes.len() < 2 {
            // Too short for grams (and for an email): look at every user.
            let all: RoaringBitmap = (0..self.docs.len() as u32).collect();
            set.eval(&all)
        } else {
            let grams = Node::And(substring_parts(&codes).iter().map(|p| self.grams.part(p)).collect());
            set.eval(&grams.materialize())
        };
        let mut text = String::new();
        candidates.iter().filter(|&doc| self.has_email(doc, &key, &mut text)).collect()
    }
}
