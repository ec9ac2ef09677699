//! A deserializer adapter that reads request messages the way protojson does.
//!
//! [`Objects`] wraps a deserializer and every deserializer it hands to nested values, at every level:
//! - **Messages are objects.** serde's derived `Deserialize` of a struct also accepts a sequence, filling the
//!   fields in declaration order, so `{"localDirectoryConfig": [null, "Renamed"]}` would set the second field.
//!   protojson has no such form: a sequence is refused wherever a struct or a struct variant is asked for.
//! - **Both field names.** A key that is not one of the message's fields but whose JSON name is (the proto
//!   field name `role_ids` of the field `roleIds`, or the JSON name `pageSize` of the query field `page_size`)
//!   is read as that field ([`field_for`]). Giving one field under both names is a duplicate field, which
//!   serde refuses and `parse_json` reports naming the field. A message whose own names are snake_case (the
//!   LeadConduit `/onboards` surface) matches its names exactly and does not gain camelCase ones: see
//!   [`Names`].
//! - **Integers as numbers or strings.** protojson writes 64-bit integers as strings and reads every integer
//!   from either form (and from an integral float such as `1e2`): an integer field reads a decimal string too.
//!
//! `#[serde(flatten)]` and untagged or internally tagged enums buffer their input and read it back through
//! serde's own deserializer, outside this adapter: request messages do not use them.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor};

/// What a refused sequence was expected to be, in the error message.
const AN_OBJECT: &str = "a JSON object";

/// Which other name of a field a key may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Names {
    /// Request bodies: a field's own name, or its proto field name (`role_ids` for `roleIds`). A message
    /// named in snake_case (`/onboards`) therefore takes exactly its own names.
    ProtoNames,
    /// Query parameters, named in snake_case: a parameter's own name, or its JSON name (`pageSize` for
    /// `page_size`).
    JsonNames,
}

/// protoc's JSON name of a proto field name: each `_` dropped and the letter after it capitalised
/// (`role_ids` → `roleIds`, `expand_mask` → `expandMask`).
pub fn json_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut capital = false;
    for c in name.chars() {
        if c == '_' {
            capital = true;
        } else if capital {
            out.push(c.to_ascii_uppercase());
            capital = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The field of `fields` that `key` names under `names`, when that is not `key` itself.
pub fn field_for(key: &str, fields: &[&'static str], names: Names) -> Option<&'static str> {
    if fields.contains(&key) {
        return None;
    }
    match names {
        Names::ProtoNames if key.contains('_') => {
            let json = json_name(key);
            fields.iter().copied().find(|field| *field == json)
        }
        Names::ProtoNames => None,
        Names::JsonNames => fields.iter().copied().find(|field| field.contains('_') && json_name(field) == key),
    }
}

/// Wraps a deserializer so that structs read only from maps (JSON objects), keys may use a field's other
/// name, and integers read from strings too.
pub struct Objects<D>(pub D, pub Names);

impl<D> Objects<D> {
    /// A request body's deserializer.
    pub fn body(deserializer: D) -> Self {
        Objects(deserializer, Names::ProtoNames)
    }
}

/// Forwards `deserialize_*` methods that take only a visitor, wrapping the visitor.
macro_rules! forward {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            self.0.$method(Wrapped::new(visitor, Mode::Any, self.1))
        }
    )*};
}

/// Integer methods read whatever comes, so that a string can be parsed (serde_json's own integer methods
/// refuse a string before a visitor sees it).
macro_rules! integers {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            self.0.deserialize_any(Wrapped::new(visitor, Mode::Integer, self.1))
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Objects<D> {
    type Error = D::Error;

    forward! {
        deserialize_any deserialize_bool deserialize_f32 deserialize_f64 deserialize_char deserialize_str
        deserialize_string deserialize_bytes deserialize_byte_buf deserialize_option deserialize_unit
        deserialize_seq deserialize_map deserialize_identifier deserialize_ignored_any
    }

    integers! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128 deserialize_u8
        deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, name: &'static str, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_unit_struct(name, Wrapped::new(visitor, Mode::Any, self.1))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, name: &'static str, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_newtype_struct(name, Wrapped::new(visitor, Mode::Any, self.1))
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple(len, Wrapped::new(visitor, Mode::Any, self.1))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple_struct(name, len, Wrapped::new(visitor, Mode::Any, self.1))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_struct(name, fields, Wrapped::new(visitor, Mode::Object(fields), self.1))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_enum(name, variants, Wrapped::new(visitor, Mode::Enum(variants), self.1))
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

/// What a wrapped visitor is asked to build.
#[derive(Clone, Copy)]
enum Mode {
    Any,
    /// A struct with these fields: read only from a map, keys matched by [`field_for`].
    Object(&'static [&'static str]),
    /// An enum with these variants: variant names matched by [`field_for`] (a oneof's members are fields).
    Enum(&'static [&'static str]),
    /// An integer: from a number, an integral float, or a decimal string.
    Integer,
}

/// A visitor that wraps what it is given to visit further.
struct Wrapped<V> {
    inner: V,
    mode: Mode,
    names: Names,
}

impl<V> Wrapped<V> {
    fn new(inner: V, mode: Mode, names: Names) -> Self {
        Wrapped { inner, mode, names }
    }
}

/// Forwards `visit_*` methods of plain values to the inner visitor.
macro_rules! forward_visits {
    ($($method:ident($type:ty))*) => {$(
        fn $method<E: de::Error>(self, value: $type) -> Result<V::Value, E> {
            self.inner.$method(value)
        }
    )*};
}

impl<'de, V: Visitor<'de>> Wrapped<V> {
    /// A string where an integer is asked for: its number, when it is one.
    fn integer_text<E: de::Error>(self, text: &str) -> Result<V::Value, E> {
        if let Ok(value) = text.parse::<u64>() {
            self.inner.visit_u64(value)
        } else if let Ok(value) = text.parse::<i64>() {
            self.inner.visit_i64(value)
        } else {
            self.inner.visit_str(text)
        }
    }
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrapped<V> {
    type Value = V::Value;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        match self.mode {
            Mode::Object(_) => formatter.write_str(AN_OBJECT),
            _ => self.inner.expecting(formatter),
        }
    }

    forward_visits! {
        visit_bool(bool) visit_i8(i8) visit_i16(i16) visit_i32(i32) visit_i64(i64) visit_i128(i128)
        visit_u8(u8) visit_u16(u16) visit_u32(u32) visit_u64(u64) visit_u128(u128) visit_f32(f32)
        visit_char(char) visit_bytes(&[u8]) visit_borrowed_bytes(&'de [u8]) visit_byte_buf(Vec<u8>)
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<V::Value, E> {
        // 2^63 and above do not fit an i64; protojson's integral floats are for small numbers like `1e2`.
        let integral = value.fract() == 0.0 && value.abs() < 9.2e18;
        match self.mode {
            Mode::Integer if integral => self.inner.visit_i64(value as i64),
            _ => self.inner.visit_f64(value),
        }
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<V::Value, E> {
        match self.mode {
            Mode::Integer => self.integer_text(value),
            _ => self.inner.visit_str(value),
        }
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<V::Value, E> {
        match self.mode {
            Mode::Integer => self.integer_text(value),
            _ => self.inner.visit_borrowed_str(value),
        }
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<V::Value, E> {
        match self.mode {
            Mode::Integer => self.integer_text(&value),
            _ => self.inner.visit_string(value),
        }
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        self.inner.visit_some(Objects(deserializer, self.names))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        self.inner.visit_newtype_struct(Objects(deserializer, self.names))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        if let Mode::Object(_) = self.mode {
            return Err(de::Error::invalid_type(de::Unexpected::Seq, &AN_OBJECT));
        }
        self.inner.visit_seq(Elements(seq, self.names))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        let fields = match self.mode {
            Mode::Object(fields) => fields,
            _ => &[],
        };
        self.inner.visit_map(Entries { map, fields, names: self.names })
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        let variants = match self.mode {
            Mode::Enum(variants) => variants,
            _ => &[],
        };
        self.inner.visit_enum(Variants { data, variants, names: self.names })
    }
}

/// A seed whose deserializer is wrapped.
struct Seed<S>(S, Names);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(Objects(deserializer, self.1))
    }
}

/// The seed of a struct's key or an enum's variant name: a name of one of `fields` under `names` reaches
/// the inner seed as that field's own name. With no fields (a map, not a struct) keys pass unchanged.
struct KeySeed<S> {
    seed: S,
    fields: &'static [&'static str],
    names: Names,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for KeySeed<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        if self.fields.is_empty() {
            return self.seed.deserialize(Objects(deserializer, self.names));
        }
        let key = deserializer.deserialize_str(KeyText)?;
        let key = match field_for(&key, self.fields, self.names) {
            Some(field) => field.to_string(),
            None => key,
        };
        self.seed.deserialize(de::value::StringDeserializer::<D::Error>::new(key))
    }
}

/// Reads a key as text.
struct KeyText;

impl<'de> Visitor<'de> for KeyText {
    type Value = String;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<String, E> {
        Ok(value.to_string())
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<String, E> {
        Ok(value)
    }
}

struct Elements<A>(A, Names);

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Elements<A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, A::Error> {
        self.0.next_element_seed(Seed(seed, self.1))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

struct Entries<A> {
    map: A,
    fields: &'static [&'static str],
    names: Names,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Entries<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, A::Error> {
        self.map.next_key_seed(KeySeed { seed, fields: self.fields, names: self.names })
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        self.map.next_value_seed(Seed(seed, self.names))
    }

    fn size_hint(&self) -> Option<usize> {
        self.map.size_hint()
    }
}

struct Variants<A> {
    data: A,
    variants: &'static [&'static str],
    names: Names,
}

impl<'de, A: EnumAccess<'de>> EnumAccess<'de> for Variants<A> {
    type Error = A::Error;
    type Variant = Variant<A::Variant>;

    fn variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<(T::Value, Self::Variant), A::Error> {
        let names = self.names;
        let (value, variant) = self.data.variant_seed(KeySeed { seed, fields: self.variants, names })?;
        Ok((value, Variant(variant, names)))
    }
}

struct Variant<A>(A, Names);

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Variant<A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.0.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        self.0.newtype_variant_seed(Seed(seed, self.1))
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.0.tuple_variant(len, Wrapped::new(visitor, Mode::Any, self.1))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.0.struct_variant(fields, Wrapped::new(visitor, Mode::Object(fields), self.1))
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::Value;

    use super::Objects;

    #[derive(Deserialize, Debug, PartialEq, Default)]
    #[serde(default)]
    struct Message {
        name: Option<String>,
        inner: Option<Inner>,
        list: Vec<Inner>,
        kind: Option<Kind>,
        any: Option<Value>,
    }

    #[derive(Deserialize, Debug, PartialEq, Default)]
    struct Inner {
        id: Option<String>,
    }

    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "camelCase")]
    enum Kind {
        Plain,
        Terms { text: String },
    }

    fn parse(json: &str) -> Result<Message, String> {
        let mut deserializer = serde_json::Deserializer::from_str(json);
        Message::deserialize(Objects::body(&mut deserializer)).map_err(|error| error.to_string())
    }

    #[test]
    fn structs_read_only_from_objects() {
        assert!(serde_json::from_str::<Message>(r#"[null, {"id": "x"}]"#).is_ok(), "serde alone accepts a sequence");
        for refused in
            [r#"[null, null]"#, r#"{"inner": ["x"]}"#, r#"{"list": [{}, [null]]}"#, r#"{"kind": {"terms": ["x"]}}"#]
        {
            let error = parse(refused).expect_err(refused);
            assert!(error.contains("expected a JSON object"), "{refused}: {error}");
        }
    }

    #[test]
    fn everything_else_reads_as_before() {
        let json = r#"{"name": "n", "inner": {"id": "i"}, "list": [{"id": null}], "kind": {"terms": {"text": "t"}},
                       "any": [1, {"a": [null]}]}"#;
        assert_eq!(parse(json).unwrap(), serde_json::from_str::<Message>(json).unwrap());
        assert_eq!(parse(r#"{"kind": "plain"}"#).unwrap().kind, Some(Kind::Plain));
        assert_eq!(parse(r#"{"inner": null}"#).unwrap(), Message::default());
    }
}
