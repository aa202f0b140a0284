//! Villagers' ratings of a team's week.

use std::fmt;

/// A rating score, always within 1..=5 (满意 = 5, 基本满意 = 3, 不满意 = 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Score(u8);

impl Score {
    pub const MIN: u8 = 1;
    pub const MAX: u8 = 5;

    /// `Some` for 1..=5, `None` otherwise.
    pub fn new(value: u8) -> Option<Score> {
        (Self::MIN..=Self::MAX)
            .contains(&value)
            .then_some(Score(value))
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

impl fmt::Display for Score {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_one_to_five() {
        for v in 1..=5u8 {
            assert_eq!(Score::new(v).map(Score::get), Some(v));
        }
    }

    #[test]
    fn rejects_everything_else() {
        for v in [0u8, 6, 10, 255] {
            assert_eq!(Score::new(v), None, "value {v}");
        }
    }

    #[test]
    fn orders_and_displays_as_the_number() {
        assert!(Score::new(1) < Score::new(5));
        assert_eq!(Score::new(4).map(|s| s.to_string()), Some("4".to_string()));
    }
}
