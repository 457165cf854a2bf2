//! Declared events through the outbox: a domain event's row names its
//! aggregate as Debezium's outbox convention does (`aggregatetype`,
//! `aggregateid`), and the relay keys its record by `aggregateid`, as the
//! Kafka sink keys it. Both backends encode rows the same way
//! (`outbox::Row`), so the SQLite file stands for PostgreSQL too.
#![cfg(feature = "outbox")]

mod outbox_support;

use onex_events::outbox::sqlite::rusqlite::Connection;
use onex_events::outbox::{OutboxConfig, OutboxSink};
use onex_events::{onex_node, NodeContext, OnexEvent, OnexNode, Publisher, Sink};
use outbox_support::TempDir;
use serde::Serialize;
use std::time::Duration;

#[derive(Serialize, OnexEvent)]
#[onex_event("order.placed", kind = "domain", aggregate_type = "order")]
struct OrderPlaced {
    #[onex_event(id)]
    order_id: String,
    total: u64,
}

#[derive(Serialize, OnexEvent)]
#[onex_event(
    "audit.order_viewed",
    kind = "audit",
    action = "view",
    resource_type = "order"
)]
struct OrderViewed {
    #[onex_event(id)]
    order_id: String,
}

#[derive(OnexNode)]
struct Orders {
    ctx: NodeContext,
}

#[onex_node("orders", events(OrderPlaced, OrderViewed))]
impl Orders {}

#[test]
fn an_outbox_row_of_a_domain_event_names_its_aggregate() {
    let dir = TempDir::new("typed");
    let path = dir.path("o.db");
    let sink = OutboxSink::open(OutboxConfig::sqlite(&path)).unwrap();
    let orders = Orders {
        ctx: NodeContext::new::<Orders>(Publisher::new(sink.clone())),
    };
    let placed = orders.ctx.publish(&OrderPlaced {
        order_id: "o-7".into(),
        total: 3,
    });
    let viewed = orders.ctx.publish(&OrderViewed {
        order_id: "o-7".into(),
    });
    sink.flush(Duration::from_secs(10)).unwrap();

    let conn = Connection::open(&path).unwrap();
    let row = |id: uuid::Uuid| -> (String, String, String) {
        conn.query_row(
            "SELECT aggregatetype, aggregateid, type FROM onex_outbox WHERE id = ?1",
            [id.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
    };
    assert_eq!(
        row(placed.unwrap()),
        ("order".into(), "o-7".into(), "order.placed".into())
    );
    // Not a domain event: the node type stays the aggregate type; the
    // resource id is still the key.
    assert_eq!(
        row(viewed.unwrap()),
        ("orders".into(), "o-7".into(), "audit.order_viewed".into())
    );
}
