//! Test support shared by the behaviour tests, examples and benchmarks of
//! onex-events: the contract schemas, embedded so tests run without
//! `../shared`.
