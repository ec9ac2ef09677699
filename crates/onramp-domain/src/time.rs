//! Timestamps: UTC with microsecond precision, stored as a signed count of microseconds since the Unix epoch
//! and written on the wire as RFC 3339 (`2023-11-07T05:31:56.123456Z`).

use std::fmt;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A UTC instant with microsecond precision.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Timestamp(i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be an RFC 3339 timestamp such as 2023-11-07T05:31:56Z")]
pub struct TimestampParseError;

impl Timestamp {
    pub fn now() -> Self {
        let micros = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as i64)
            .unwrap_or(0);
        Timestamp(micros)
    }

    pub const fn from_micros(micros: i64) -> Self {
        Timestamp(micros)
    }

    pub const fn from_unix_seconds(seconds: i64) -> Self {
        Timestamp(seconds * 1_000_000)
    }

    pub const fn micros(self) -> i64 {
        self.0
    }

    pub const fn unix_seconds(self) -> i64 {
        self.0.div_euclid(1_000_000)
    }

    pub const fn plus_seconds(self, seconds: i64) -> Self {
        Timestamp(self.0 + seconds * 1_000_000)
    }

    /// RFC 3339 in UTC; the fraction is printed only when it is not zero, as protojson does.
    pub fn to_rfc3339(self) -> String {
        let seconds = self.unix_seconds();
        let micros = self.0.rem_euclid(1_000_000);
        let datetime = OffsetDateTime::from_unix_timestamp(seconds).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let date = datetime.date();
        let time = datetime.time();
        let mut out = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            date.year(),
            date.month() as u8,
            date.day(),
            time.hour(),
            time.minute(),
            time.second()
        );
        if micros != 0 {
            out.push_str(&format!(".{micros:06}"));
        }
        out.push('Z');
        out
    }

    /// Parses RFC 3339 with any offset and any fraction; precision below a microsecond is truncated.
    pub fn parse_rfc3339(s: &str) -> Result<Self, TimestampParseError> {
        let datetime = OffsetDateTime::parse(s, &Rfc3339).map_err(|_| TimestampParseError)?;
        let nanos = datetime.unix_timestamp_nanos();
        Ok(Timestamp((nanos.div_euclid(1_000)) as i64))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Timestamp::parse_rfc3339(&s).map_err(serde::de::Error::custom)
    }
}

/// On the wire a timestamp is RFC 3339 text in UTC (protojson's `google.protobuf.Timestamp`).
impl schemars::JsonSchema for Timestamp {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Timestamp".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "format": "date-time" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formats_like_protojson() {
        assert_eq!(Timestamp::from_unix_seconds(1_699_335_116).to_rfc3339(), "2023-11-07T05:31:56Z");
        assert_eq!(Timestamp::from_micros(1_699_335_116_000_123).to_rfc3339(), "2023-11-07T05:31:56.000123Z");
    }

    #[test]
    fn parses_offsets_and_fractions() {
        let t = Timestamp::parse_rfc3339("2023-11-07T07:31:56.5+02:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2023-11-07T05:31:56.500000Z");
        assert!(Timestamp::parse_rfc3339("2023-11-07").is_err());
        assert!(Timestamp::parse_rfc3339("yesterday").is_err());
    }

    proptest! {
        #[test]
        fn round_trips_at_microsecond_precision(micros in -62_135_596_800_000_000i64..253_402_300_799_000_000i64) {
            let t = Timestamp::from_micros(micros);
            prop_assert_eq!(Timestamp::parse_rfc3339(&t.to_rfc3339()), Ok(t));
        }
    }
}
