//! Test support shared by the behaviour tests, examples and benchmarks of
//! onex-events: copies of the wire contracts, embedded so everything runs
//! without `../shared`.

/// `contracts/onex-envelope-v1.schema.json`: the OnexEnvelopeV1 JSON Schema.
pub const ENVELOPE_SCHEMA: &str = include_str!("../contracts/onex-envelope-v1.schema.json");

/// `contracts/lifecycle-payloads.schema.json`: minimum payload of each kind.
pub const PAYLOAD_SCHEMA: &str = include_str!("../contracts/lifecycle-payloads.schema.json");

/// `contracts/catalog-orchestrator.json`: the seed's orchestrator catalog.
pub const ORCHESTRATOR_CATALOG: &str = include_str!("../contracts/catalog-orchestrator.json");

/// `contracts/catalog-reducer.json`: the seed's reducer catalog.
pub const REDUCER_CATALOG: &str = include_str!("../contracts/catalog-reducer.json");
