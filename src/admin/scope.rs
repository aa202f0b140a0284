//! Who calls the admin service, and what they may touch.
//!
//! Two kinds of caller: the city admin ([`Principal::City`], holder of
//! `LIANCUN_ADMIN_TOKEN`), and township tokens issued by the city
//! ([`Principal::Township`]), which see and change only their own township.
//! Township tokens are stored as the SHA-256 (hex) of the token.
//!
//! Every service call that touches township data judges its principal here:
//! [`authorize`] looks up a row's township, so an unknown id is "no such …"
//! before scope is judged and another township's id is forbidden.

use sha2::{Digest, Sha256};

use super::error::{AdminError, AdminResult, CITY_ONLY, OTHER_TOWNSHIP};
use crate::store::Tx;
use crate::store::admin::{self as q, Owned};

/// An authenticated caller of the admin service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal {
    /// `LIANCUN_ADMIN_TOKEN`: everything.
    City,
    /// A township token: only that township's data.
    Township { token_id: i64, township_id: i64 },
}

impl Principal {
    /// The actor written to the audit log: `admin` or `token:<id>`.
    pub fn actor(&self) -> String {
        match self {
            Principal::City => "admin".to_string(),
            Principal::Township { token_id, .. } => format!("token:{token_id}"),
        }
    }

    /// The township this principal is confined to; `None` for the city.
    pub fn township(&self) -> Option<i64> {
        match self {
            Principal::City => None,
            Principal::Township { township_id, .. } => Some(*township_id),
        }
    }

    /// Forbidden unless the principal may touch data of `township` (`None`:
    /// data of no township, such as an unbound group, which only the city
    /// may touch).
    pub fn check(&self, township: Option<i64>) -> AdminResult<()> {
        match (self, township) {
            (Principal::City, _) => Ok(()),
            (Principal::Township { township_id, .. }, Some(t)) if *township_id == t => Ok(()),
            _ => Err(AdminError::Forbidden(OTHER_TOWNSHIP)),
        }
    }

    /// Forbidden unless the principal may change a person who belongs to
    /// `townships` (the city: anyone; a township token: people of its own
    /// township, or of none yet).
    pub fn check_person(&self, townships: &[i64]) -> AdminResult<()> {
        match self.township() {
            Some(own) if !townships.is_empty() && !townships.contains(&own) => {
                Err(AdminError::Forbidden(OTHER_TOWNSHIP))
            }
            _ => Ok(()),
        }
    }

    /// Forbidden unless this is the city admin.
    pub fn city_only(&self) -> AdminResult<()> {
        match self {
            Principal::City => Ok(()),
            Principal::Township { .. } => Err(AdminError::Forbidden(CITY_ONLY)),
        }
    }

    /// The township filter a list runs with: a township token always sees its
    /// own township (asking for another is forbidden); the city sees what it
    /// asks.
    pub fn scope_filter(&self, asked: Option<i64>) -> AdminResult<Option<i64>> {
        match (self, asked) {
            (Principal::City, asked) => Ok(asked),
            (Principal::Township { township_id, .. }, None) => Ok(Some(*township_id)),
            (Principal::Township { township_id, .. }, Some(t)) if t == *township_id => Ok(Some(t)),
            _ => Err(AdminError::Forbidden(OTHER_TOWNSHIP)),
        }
    }
}

/// Looks up the township of a row in `tx` and judges it: not found when
/// there is no such row (`what` names it), forbidden when it is another
/// township's. Returns the row's township.
pub async fn authorize(
    tx: &mut Tx,
    who: Principal,
    kind: Owned,
    id: i64,
    what: &'static str,
) -> AdminResult<Option<i64>> {
    let Some(township) = q::township_of(tx, kind, id).await? else {
        return Err(AdminError::not_found(what));
    };
    who.check(township)?;
    Ok(township)
}

/// Whether `who` may see or change person `id`: not found, forbidden, or
/// the person's row.
pub async fn person_in_scope(tx: &mut Tx, who: Principal, id: i64) -> AdminResult<q::Person> {
    let p = q::person(tx, id)
        .await?
        .ok_or_else(|| AdminError::not_found("person"))?;
    who.check_person(&q::person_townships(tx, id).await?)?;
    Ok(p)
}

/// The hash stored for a township token.
pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new township token: `lct_` and 64 hex digits (256 random bits).
pub fn new_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("lct_{hex}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forbidden<T: std::fmt::Debug>(r: AdminResult<T>) -> bool {
        matches!(r, Err(AdminError::Forbidden(_)))
    }

    #[test]
    fn tokens_are_random_and_hash_to_hex() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("lct_") && a.len() == 68, "{a}");
        let h = token_hash(&a);
        assert_eq!(h.len(), 64);
        assert!(h.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn scopes() {
        let t = Principal::Township {
            token_id: 7,
            township_id: 2,
        };
        assert!(t.check(Some(2)).is_ok());
        assert!(forbidden(t.check(Some(3))));
        assert!(forbidden(t.check(None)));
        assert!(Principal::City.check(None).is_ok());
        assert_eq!(t.scope_filter(None).unwrap(), Some(2));
        assert!(forbidden(t.scope_filter(Some(3))));
        assert_eq!(Principal::City.scope_filter(None).unwrap(), None);
        assert_eq!(t.actor(), "token:7");
        assert_eq!(Principal::City.actor(), "admin");
        assert!(forbidden(t.city_only()));
        assert!(t.check_person(&[]).is_ok());
        assert!(t.check_person(&[2, 5]).is_ok());
        assert!(forbidden(t.check_person(&[5])));
        assert!(Principal::City.check_person(&[5]).is_ok());
    }
}
