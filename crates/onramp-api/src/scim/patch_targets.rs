//! What each PATCH operation does at its target (RFC 7644 §3.5.2.1–§3.5.2.3): a whole attribute, a
//! sub-attribute of every value, or the values a filter selects.

use serde_json::{Map, Value};

use super::attributes::{Attribute, ResourceSchema};
use super::error::{ScimError, ScimResult};
use super::filter::{CompareOp, Filter, Literal};
use super::patch::{PatchOp, field};

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(fields) => fields.is_empty(),
        _ => false,
    }
}

/// Sets a key, or removes it for null or an empty value (RFC 7643 §2.5: unassigned).
fn set(holder: &mut Map<String, Value>, key: String, value: Value) {
    if is_empty(&value) {
        holder.remove(&key);
    } else {
        holder.insert(key, value);
    }
}

/// Merges the sub-attributes of `value` into the object at `key` (null ones removed).
fn merge(holder: &mut Map<String, Value>, key: String, value: Value) {
    let Value::Object(fields) = value else { return set(holder, key, value) };
    let mut current = match holder.remove(&key) {
        Some(Value::Object(current)) => current,
        _ => Map::new(),
    };
    for (name, inner) in fields {
        let name = super::patch::key_in(&current, &name);
        set(&mut current, name, inner);
    }
    set(holder, key, Value::Object(current));
}

/// When a value marked `primary` is written, the others of the attribute lose the mark (RFC 7643 §2.4).
fn one_primary(items: &mut [Value], written: &[usize]) {
    let is_primary =
        |item: &Value| item.as_object().and_then(|item| field(item, "primary")) == Some(&Value::Bool(true));
    let Some(&kept) = written.iter().rev().find(|index| is_primary(&items[**index])) else { return };
    for (index, item) in items.iter_mut().enumerate() {
        if index != kept
            && let Some(object) = item.as_object_mut()
        {
            let key = super::patch::key_in(object, "primary");
            if object.get(&key) == Some(&Value::Bool(true)) {
                object.insert(key, Value::Bool(false));
            }
        }
    }
}

/// The target is the attribute itself.
pub(super) fn whole(
    holder: &mut Map<String, Value>,
    key: String,
    attribute: &Attribute,
    op: PatchOp,
    value: Option<Value>,
    name: &str,
) -> ScimResult<()> {
    match (op, value) {
        (PatchOp::Remove, Some(Value::Array(given))) if attribute.multi_valued && !given.is_empty() => {
            // Entra ID removes members by listing them: `{"op":"Remove","path":"members","value":[{"value":"id"}]}`.
            let Some(Value::Array(items)) = holder.get_mut(&key) else { return Ok(()) };
            items.retain(|item| !given.iter().any(|given| same_value(item, given, attribute)));
            if items.is_empty() {
                holder.remove(&key);
            }
            Ok(())
        }
        (PatchOp::Remove, _) => {
            if attribute.required {
                return Err(ScimError::invalid_value(format!("{name} is required and cannot be removed")));
            }
            holder.remove(&key);
            Ok(())
        }
        (_, None) => Err(ScimError::invalid_value(format!("{name}: the operation needs a value"))),
        (op, Some(value)) if attribute.multi_valued => {
            // A null value is no values, as a null single value is unassigned: a replace unassigns the
            // attribute, an add adds nothing.
            let new = match value {
                Value::Array(new) => new,
                Value::Null => Vec::new(),
                _ => unreachable!("coerce gives a list or null for a multi-valued attribute"),
            };
            let mut items = match (op, holder.remove(&key)) {
                (PatchOp::Add, Some(Value::Array(items))) => items,
                _ => Vec::new(),
            };
            let mut written = Vec::new();
            for item in new {
                if item.is_null() {
                    continue;
                }
                match items.iter().position(|existing| *existing == item) {
                    Some(index) => written.push(index),
                    None => {
                        written.push(items.len());
                        items.push(item);
                    }
                }
            }
            one_primary(&mut items, &written);
            set(holder, key, Value::Array(items));
            Ok(())
        }
        (_, Some(value)) if attribute.sub_attributes.is_empty() => {
            set(holder, key, value);
            Ok(())
        }
        (_, Some(value)) => {
            merge(holder, key, value);
            Ok(())
        }
    }
}

/// Whether a value of a multi-valued attribute is the one a removal lists: every sub-attribute given
/// is equal (strings without case unless `caseExact`).
fn same_value(item: &Value, given: &Value, attribute: &Attribute) -> bool {
    let (Some(item), Some(given)) = (item.as_object(), given.as_object()) else { return item == given };
    !given.is_empty()
        && given.iter().all(|(name, want)| match (field(item, name), want) {
            (Some(Value::String(have)), Value::String(want)) => {
                let case_exact = attribute.sub_attribute(name).is_some_and(|sub| sub.case_exact);
                if case_exact { have == want } else { have.eq_ignore_ascii_case(want) }
            }
            (have, want) => have == Some(want),
        })
}

/// The target is a sub-attribute of the attribute (`name.givenName`), or of every value of a
/// multi-valued one (`emails.type`).
pub(super) fn sub_of_all(
    holder: &mut Map<String, Value>,
    key: String,
    attribute: &Attribute,
    sub: &Attribute,
    op: PatchOp,
    value: Option<Value>,
    name: &str,
) -> ScimResult<()> {
    let value = if op == PatchOp::Remove { Value::Null } else { value.unwrap_or(Value::Null) };
    if attribute.multi_valued {
        let Some(Value::Array(items)) = holder.get_mut(&key) else {
            return if op == PatchOp::Remove {
                Ok(())
            } else {
                Err(ScimError::no_target(format!("{name}: no values")))
            };
        };
        for item in items.iter_mut() {
            if let Some(object) = item.as_object_mut() {
                let sub_key = super::patch::key_in(object, sub.name);
                set(object, sub_key, value.clone());
            }
        }
        return Ok(());
    }
    let mut fields = Map::new();
    fields.insert(sub.name.to_string(), value);
    if op == PatchOp::Remove && !holder.contains_key(&key) {
        return Ok(());
    }
    merge(holder, key, Value::Object(fields));
    Ok(())
}

/// The target is the values of a multi-valued attribute that match a filter, or a sub-attribute of them.
/// When none match, add and replace make the value the filter describes if it is made only of `eq` and
/// `and` (Entra ID's `emails[type eq "work"].value` on a user without a work email); otherwise `noTarget`.
#[allow(clippy::too_many_arguments)]
pub(super) fn selected(
    holder: &mut Map<String, Value>,
    key: String,
    attribute: &'static Attribute,
    filter: &Filter,
    sub: Option<&Attribute>,
    op: PatchOp,
    value: Option<Value>,
    name: &str,
) -> ScimResult<()> {
    let mut items = match holder.remove(&key) {
        Some(Value::Array(items)) => items,
        Some(single) if !single.is_null() => vec![single],
        _ => Vec::new(),
    };
    let chosen: Vec<usize> =
        (0..items.len()).filter(|index| filter.matches_element(&items[*index], Some(attribute))).collect();
    let result = if op == PatchOp::Remove {
        match sub {
            None => {
                let mut index = 0;
                items.retain(|_| {
                    index += 1;
                    !chosen.contains(&(index - 1))
                });
            }
            Some(sub) => {
                for index in &chosen {
                    if let Some(object) = items[*index].as_object_mut() {
                        let sub_key = super::patch::key_in(object, sub.name);
                        object.remove(&sub_key);
                    }
                }
            }
        }
        Ok(())
    } else {
        write_selected(&mut items, &chosen, filter, sub, op, value.unwrap_or(Value::Null), name)
    };
    set(holder, key, Value::Array(items));
    result
}

fn write_selected(
    items: &mut Vec<Value>,
    chosen: &[usize],
    filter: &Filter,
    sub: Option<&Attribute>,
    op: PatchOp,
    value: Value,
    name: &str,
) -> ScimResult<()> {
    let mut chosen = chosen.to_vec();
    if chosen.is_empty() {
        let mut made = Map::new();
        if !equalities(filter, &mut made) {
            return Err(ScimError::no_target(format!("{name}: no value matches the filter")));
        }
        chosen.push(items.len());
        items.push(Value::Object(made));
    }
    for index in &chosen {
        let Some(object) = items[*index].as_object_mut() else { continue };
        match (sub, op, &value) {
            (Some(sub), _, _) => {
                let sub_key = super::patch::key_in(object, sub.name);
                set(object, sub_key, value.clone());
            }
            (None, PatchOp::Replace, Value::Object(fields)) => {
                // A replaced value starts empty: the new value is the whole of it.
                *object = Map::new();
                for (field_name, inner) in fields {
                    set(object, field_name.clone(), inner.clone());
                }
            }
            (None, _, Value::Object(fields)) => {
                for (field_name, inner) in fields {
                    let field_key = super::patch::key_in(object, field_name);
                    set(object, field_key, inner.clone());
                }
            }
            (None, _, _) => return Err(ScimError::invalid_value(format!("{name}: the value must be an object"))),
        }
    }
    one_primary(items, &chosen);
    Ok(())
}

/// Fills `made` with the sub-attributes an `eq`/`and` filter requires; false for any other filter.
fn equalities(filter: &Filter, made: &mut Map<String, Value>) -> bool {
    match filter {
        Filter::And(left, right) => equalities(left, made) && equalities(right, made),
        Filter::Compare { path, op: CompareOp::Eq, value } if path.urn.is_none() && path.sub.is_none() => {
            let value = match value {
                Literal::String(text) => Value::from(text.as_str()),
                Literal::Bool(flag) => Value::Bool(*flag),
                Literal::Number(number) => Value::Number(number.clone()),
                Literal::Null => return false,
            };
            made.insert(path.name.clone(), value);
            true
        }
        _ => false,
    }
}

/// An extension object left empty is removed; `schemas` lists the core schema and exactly the extensions
/// the resource carries.
pub(super) fn tidy_extensions(resource: &mut Map<String, Value>, schema: &ResourceSchema) {
    let mut listed: Vec<Value> = match resource.get("schemas") {
        Some(Value::Array(urns)) => urns.clone(),
        _ => vec![Value::from(schema.core.id)],
    };
    for extension in schema.extensions {
        let urn = extension.schema.id;
        let key = super::patch::key_in(resource, urn);
        let present = resource.get(&key).is_some_and(|value| !is_empty(value));
        if !present {
            resource.remove(&key);
        }
        let position =
            listed.iter().position(|listed| listed.as_str().is_some_and(|listed| listed.eq_ignore_ascii_case(urn)));
        match (present, position) {
            (true, None) => listed.push(Value::from(urn)),
            (false, Some(position)) => {
                listed.remove(position);
            }
            _ => {}
        }
    }
    resource.insert("schemas".to_string(), Value::Array(listed));
}
