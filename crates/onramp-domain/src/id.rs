//! Ids in the BSON ObjectId layout: 12 bytes written as 24 lowercase hex characters.
//!
//! The layout is 4 bytes of big-endian Unix seconds, 5 random bytes fixed per process, and a 3-byte
//! big-endian counter that starts at a random value. The same id is therefore valid on both API surfaces
//! (ConductorOne treats ids as opaque strings, LeadConduit requires 24 hex), and ids sort by creation time,
//! which keyset paging relies on. The ids one process makes with [`Id::new`] only ever increase: when the
//! counter wraps within a second, or the clock steps back, the id keeps the last second it used (plus one on
//! a wrap) rather than sorting before ids made earlier.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// A 12-byte ObjectId-layout identifier.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Id([u8; 12]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be 24 hexadecimal characters")]
pub struct IdParseError;

struct Generator {
    process_random: [u8; 5],
    /// The seconds and counter of the last id `Id::new` made, as `seconds << 24 | counter`.
    last: AtomicU64,
    /// The counter of `Id::with_seconds`, whose callers choose the seconds.
    counter: AtomicU32,
}

const COUNTER_MASK: u64 = 0x00ff_ffff;

/// The seconds and counter after `last` (both packed as `seconds << 24 | counter`) at clock time `now`:
/// the counter runs on, and the seconds never go back, moving one ahead when the counter wraps.
fn next_stamp(last: u64, now: u64) -> u64 {
    let (seconds, counter) = (last >> 24, last & COUNTER_MASK);
    let counter = (counter + 1) & COUNTER_MASK;
    let seconds = if counter == 0 && now <= seconds { seconds + 1 } else { now.max(seconds) };
    seconds << 24 | counter
}

fn generator() -> &'static Generator {
    static GENERATOR: OnceLock<Generator> = OnceLock::new();
    GENERATOR.get_or_init(|| {
        let mut seed = [0u8; 9];
        getrandom::fill(&mut seed).expect("the operating system's random source failed");
        let mut process_random = [0u8; 5];
        process_random.copy_from_slice(&seed[..5]);
        let counter = u32::from_be_bytes([seed[5], seed[6], seed[7], seed[8]]) & 0x00ff_ffff;
        Generator { process_random, last: AtomicU64::new(u64::from(counter)), counter: AtomicU32::new(counter) }
    })
}

impl Id {
    /// A new id stamped with the current time.
    pub fn new() -> Self {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let generator = generator();
        let mut last = generator.last.load(Ordering::Relaxed);
        let stamp = loop {
            let next = next_stamp(last, now);
            match generator.last.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => break next,
                Err(current) => last = current,
            }
        };
        Self::from_parts(stamp >> 24, stamp & COUNTER_MASK)
    }

    fn from_parts(seconds: u64, counter: u64) -> Self {
        let mut bytes = [0u8; 12];
        bytes[..4].copy_from_slice(&(seconds as u32).to_be_bytes());
        bytes[4..9].copy_from_slice(&generator().process_random);
        bytes[9..].copy_from_slice(&(counter as u32).to_be_bytes()[1..]);
        Id(bytes)
    }

    /// A new id stamped with the given Unix seconds; used by the deterministic data generators too.
    pub fn with_seconds(seconds: u32) -> Self {
        let count = generator().counter.fetch_add(1, Ordering::Relaxed);
        Self::from_parts(u64::from(seconds), u64::from(count) & COUNTER_MASK)
    }

    /// An id with fixed bytes, for built-in objects whose ids must be the same in every deployment.
    pub const fn from_bytes(bytes: [u8; 12]) -> Self {
        Id(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 12] {
        &self.0
    }

    /// The creation time embedded in the id, in Unix seconds.
    pub fn seconds(&self) -> u32 {
        u32::from_be_bytes([self.0[0], self.0[1], self.0[2], self.0[3]])
    }
}

impl Default for Id {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for Id {
    /// 24 lowercase hexadecimal digits, written at once: ids are formatted for every row a bulk write
    /// binds, where a `write!` per byte showed in profiles.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut text = [0u8; 24];
        for (at, byte) in self.0.iter().enumerate() {
            text[2 * at] = DIGITS[usize::from(byte >> 4)];
            text[2 * at + 1] = DIGITS[usize::from(byte & 0x0f)];
        }
        f.write_str(std::str::from_utf8(&text).expect("hexadecimal digits are ASCII"))
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({self})")
    }
}

impl FromStr for Id {
    type Err = IdParseError;

    /// Accepts upper- and lowercase hex, as LeadConduit's `^[0-9a-fA-F]{24}$` does; always prints lowercase.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let raw = s.as_bytes();
        if raw.len() != 24 {
            return Err(IdParseError);
        }
        let mut bytes = [0u8; 12];
        for (i, pair) in raw.chunks_exact(2).enumerate() {
            let high = hex_value(pair[0]).ok_or(IdParseError)?;
            let low = hex_value(pair[1]).ok_or(IdParseError)?;
            bytes[i] = high << 4 | low;
        }
        Ok(Id(bytes))
    }
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl serde::Serialize for Id {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Id {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// On the wire an id is its 24 lowercase hex digits.
impl schemars::JsonSchema for Id {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Id".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "pattern": "^[0-9a-f]{24}$" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn new_ids_are_24_lowercase_hex_and_increase() {
        let a = Id::new();
        let b = Id::new();
        let text = a.to_string();
        assert_eq!(text.len(), 24);
        assert!(text.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)));
        assert!(b > a, "ids made in order by one process must sort in order");
    }

    #[test]
    fn stamps_never_go_back() {
        let stamp = |seconds: u64, counter: u64| seconds << 24 | counter;
        assert_eq!(next_stamp(stamp(100, 7), 100), stamp(100, 8), "the counter runs on within a second");
        assert_eq!(next_stamp(stamp(100, 7), 101), stamp(101, 8), "and across seconds");
        assert_eq!(next_stamp(stamp(100, 0xff_ffff), 100), stamp(101, 0), "a wrap borrows the next second");
        assert_eq!(next_stamp(stamp(100, 0xff_ffff), 105), stamp(105, 0), "unless the clock is past it already");
        assert_eq!(next_stamp(stamp(100, 7), 90), stamp(100, 8), "a clock stepping back keeps the last second");
        let mut last = stamp(100, 0xff_fff0);
        for _ in 0..100 {
            let next = next_stamp(last, 100);
            assert!(next > last);
            last = next;
        }
    }

    #[test]
    fn refuses_wrong_length_and_non_hex() {
        for bad in ["", "abc", "0123456789abcdef0123456", "0123456789abcdef012345678", "0123456789abcdef0123456g"] {
            assert_eq!(bad.parse::<Id>(), Err(IdParseError), "{bad:?}");
        }
        // A multi-byte character must not be mistaken for two hex digits.
        assert!("0123456789abcdef012345é".parse::<Id>().is_err());
    }

    #[test]
    fn embeds_the_seconds() {
        assert_eq!(Id::with_seconds(1_700_000_000).seconds(), 1_700_000_000);
    }

    proptest! {
        #[test]
        fn display_and_parse_round_trip(bytes in any::<[u8; 12]>()) {
            let id = Id::from_bytes(bytes);
            prop_assert_eq!(id.to_string().parse::<Id>(), Ok(id));
            prop_assert_eq!(id.to_string().to_uppercase().parse::<Id>(), Ok(id));
        }

        #[test]
        fn order_of_ids_is_order_of_text(a in any::<[u8; 12]>(), b in any::<[u8; 12]>()) {
            let (a, b) = (Id::from_bytes(a), Id::from_bytes(b));
            prop_assert_eq!(a.cmp(&b), a.to_string().cmp(&b.to_string()));
        }

        #[test]
        fn parse_never_panics(s in ".{0,40}") {
            let _ = s.parse::<Id>();
        }
    }
}
