//! Shared nothing; the examples live in examples/*.rs.
