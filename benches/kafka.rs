//! Kafka transport benchmark (work in progress).

fn main() {}
