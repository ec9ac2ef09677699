//! Times in words for people: "in 6 days, on Wednesday 9 December", with the exact time beside it for a
//! `<time datetime title>` element. Pages and emails both use [`TimeInWords`]; it is pure, so the same
//! instants always give the same words.
//!
//! Dates are UTC (onramp does not know the reader's zone), and the exact form says so. The relative part
//! counts whole minutes under an hour, whole hours under a day, and calendar days beyond (so that "in 7
//! days" and the date beside it agree whenever it is read); the year is named only when it is not the
//! current one.

use time::{Month, OffsetDateTime, Weekday};

use crate::Timestamp;

/// One instant described for a reader at `now`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeInWords {
    /// RFC 3339, for `<time datetime>`.
    pub datetime: String,
    /// "in 6 days", "3 hours ago", "in less than a minute".
    pub relative: String,
    /// "Wednesday 9 December" (with the year when it is not `now`'s).
    pub date: String,
    /// "Wednesday 9 December 2026 at 14:50 UTC", for a `title`.
    pub exact: String,
}

impl TimeInWords {
    /// `at`, as seen at `now`.
    pub fn new(at: Timestamp, now: Timestamp) -> TimeInWords {
        let when = datetime(at);
        let this_year = datetime(now).year();
        let day = format!("{} {} {}", weekday(when.weekday()), when.day(), month(when.month()));
        let date = if when.year() == this_year { day.clone() } else { format!("{day} {}", when.year()) };
        TimeInWords {
            datetime: at.to_rfc3339(),
            relative: relative(at.micros() - now.micros(), calendar_days(at, now)),
            date,
            exact: format!("{day} {} at {:02}:{:02} UTC", when.year(), when.hour(), when.minute()),
        }
    }

    /// "in 6 days, on Wednesday 9 December": the words a sentence uses.
    pub fn phrase(&self) -> String {
        format!("{}, on {}", self.relative, self.date)
    }
}

fn datetime(at: Timestamp) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(at.unix_seconds()).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The number of calendar days (UTC) from `now`'s date to `at`'s, negative for the past.
fn calendar_days(at: Timestamp, now: Timestamp) -> i64 {
    i64::from(datetime(at).date().to_julian_day()) - i64::from(datetime(now).date().to_julian_day())
}

/// Microseconds from now (zero or negative: past) as "in 3 hours" or "3 hours ago"; a day or more away,
/// in calendar days (`days`), so that the count agrees with the date beside it whatever the time of day.
/// The direction is taken from the microseconds, not from whole seconds: a moment earlier in the same
/// second as now is past.
fn relative(micros: i64, days: i64) -> String {
    let future = micros > 0;
    let span = micros.unsigned_abs() / 1_000_000;
    let (count, unit) = match span {
        0..60 => {
            return if future { "in less than a minute".into() } else { "less than a minute ago".into() };
        }
        60..3_600 => (span / 60, "minute"),
        3_600..86_400 => (span / 3_600, "hour"),
        _ => (days.unsigned_abs().max(1), "day"),
    };
    let plural = if count == 1 { "" } else { "s" };
    if future { format!("in {count} {unit}{plural}") } else { format!("{count} {unit}{plural} ago") }
}

fn weekday(day: Weekday) -> &'static str {
    match day {
        Weekday::Monday => "Monday",
        Weekday::Tuesday => "Tuesday",
        Weekday::Wednesday => "Wednesday",
        Weekday::Thursday => "Thursday",
        Weekday::Friday => "Friday",
        Weekday::Saturday => "Saturday",
        Weekday::Sunday => "Sunday",
    }
}

fn month(month: Month) -> &'static str {
    match month {
        Month::January => "January",
        Month::February => "February",
        Month::March => "March",
        Month::April => "April",
        Month::May => "May",
        Month::June => "June",
        Month::July => "July",
        Month::August => "August",
        Month::September => "September",
        Month::October => "October",
        Month::November => "November",
        Month::December => "December",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse_rfc3339(text).unwrap()
    }

    #[test]
    fn days_ahead_with_the_weekday_and_no_year_this_year() {
        let words = TimeInWords::new(at("2026-12-09T14:50:00Z"), at("2026-12-03T02:00:00Z"));
        assert_eq!(words.phrase(), "in 6 days, on Wednesday 9 December");
        assert_eq!(words.datetime, "2026-12-09T14:50:00Z");
        assert_eq!(words.exact, "Wednesday 9 December 2026 at 14:50 UTC");
    }

    #[test]
    fn units_by_span_and_direction() {
        let now = at("2026-12-03T12:00:00Z");
        let cases = [
            (0, "less than a minute ago"),
            (1, "in less than a minute"),
            (59, "in less than a minute"),
            (60, "in 1 minute"),
            (3_599, "in 59 minutes"),
            (3_600, "in 1 hour"),
            (86_399, "in 23 hours"),
            (86_400, "in 1 day"),
            (7 * 86_400 - 1, "in 7 days"),
            (6 * 86_400 + 43_200, "in 7 days"),
            (-30, "less than a minute ago"),
            (-7_200, "2 hours ago"),
            (-86_400 * 3, "3 days ago"),
        ];
        for (seconds, want) in cases {
            assert_eq!(TimeInWords::new(now.plus_seconds(seconds), now).relative, want, "{seconds} s");
        }
    }

    /// A moment of the same second as now, just before it (an attempt made while the page was being read),
    /// is past, and one just after it is ahead.
    #[test]
    fn the_direction_within_a_second() {
        let now = at("2026-12-03T12:00:00.600Z");
        let just_before = Timestamp::from_micros(now.micros() - 300_000);
        assert_eq!(TimeInWords::new(just_before, now).relative, "less than a minute ago");
        let just_after = Timestamp::from_micros(now.micros() + 300_000);
        assert_eq!(TimeInWords::new(just_after, now).relative, "in less than a minute");
        let a_minute_before = Timestamp::from_micros(now.micros() - 60_000_001);
        assert_eq!(TimeInWords::new(a_minute_before, now).relative, "1 minute ago");
    }

    #[test]
    fn another_year_is_named() {
        let words = TimeInWords::new(at("2027-01-02T00:00:00Z"), at("2026-12-30T00:00:00Z"));
        assert_eq!(words.phrase(), "in 3 days, on Saturday 2 January 2027");
    }
}
