//! Time zones by their IANA names (`Asia/Shanghai`): how a township's zone
//! and the configured default are read, in one place.

use chrono_tz::Tz;

/// The zone named `name`; `None` when it names no IANA zone.
pub fn parse(name: &str) -> Option<Tz> {
    name.parse::<Tz>().ok()
}

/// The zone a team lives in: its township's (`township`, as stored), else
/// `default` (the configured `timezone`) when the township sets none.
///
/// Stored names are checked where they enter (the admin API refuses a name
/// [`parse`] refuses), so a stored name that names no zone was written past
/// those checks; it counts as unset rather than stopping the team's replies
/// and pushes.
pub fn team_tz(township: Option<&str>, default: Tz) -> Tz {
    township.and_then(parse).unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_a_team_falls_back_to_the_default() {
        let shanghai = chrono_tz::Asia::Shanghai;
        let urumqi = chrono_tz::Asia::Urumqi;
        assert_eq!(parse("Asia/Urumqi"), Some(urumqi));
        assert_eq!(
            parse(" Asia/Urumqi"),
            None,
            "callers trim what people typed"
        );
        assert_eq!(parse("Mars/Olympus"), None);
        assert_eq!(parse(""), None);
        assert_eq!(team_tz(Some("Asia/Urumqi"), shanghai), urumqi);
        assert_eq!(team_tz(None, shanghai), shanghai, "township sets none");
        assert_eq!(team_tz(Some("Mars/Olympus"), shanghai), shanghai);
        assert_eq!(team_tz(Some(""), urumqi), urumqi);
    }
}
