//! Scheduled work: the eight jobs of PRODUCT.md and their schedules.

pub mod schedule;
