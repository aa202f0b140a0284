//! Pure domain types and rules: no SQL, HTTP or platform code here.

pub mod calendar;
pub mod household;
pub mod job;
pub mod level;
pub mod phone;
pub mod ranking;
pub mod rating;
pub mod role;
pub mod schedule;
pub mod task;
pub mod text;
pub mod week;
pub mod zone;
