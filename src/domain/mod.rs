//! Pure domain types and rules: no SQL, HTTP or platform code here.

pub mod calendar;
pub mod level;
pub mod rating;
pub mod role;
pub mod week;
