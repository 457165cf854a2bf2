//! Request/response in the macros: the requests a node declares it sends
//! (`#[onex_node(.., requests("codegen.request.validate"))]`), the handlers
//! that answer a request type, and the rules both follow.

use crate::ast::{Handler, Node};
use crate::names::is_segment;
use crate::valid::{Errors, SEGMENT_RULE};
use std::collections::BTreeSet;

/// The response type of `request` if it is a request type,
/// `{node_type}.request.{name}` (`{node_type}.request.started` and its kin
/// are the lifecycle of an operation named `request`).
pub fn response_of(request: &str) -> Option<String> {
    match request.split('.').collect::<Vec<_>>().as_slice() {
        [node_type, "request", name]
            if is_segment(node_type)
                && is_segment(name)
                && !matches!(*name, "started" | "completed" | "failed") =>
        {
            Some(format!("{node_type}.response.{name}"))
        }
        _ => None,
    }
}

impl Handler<'_> {
    /// The response type this handler answers with, if it handles a
    /// request type.
    pub fn response(&self) -> Option<String> {
        self.attr
            .event_types
            .iter()
            .find_map(|lit| response_of(&lit.value()))
    }
}

/// The node's declared requests, in order, each once.
pub fn declared(node: &Node) -> Vec<String> {
    let mut all: Vec<String> = Vec::new();
    for lit in node.attr.requests.iter().flat_map(|(_, list)| list) {
        if !all.contains(&lit.value()) {
            all.push(lit.value());
        }
    }
    all
}

/// The rules: a declared request is a request type, listed once; a handler
/// of a request type handles that one event type.
pub fn validate(node: &Node, errors: &mut Errors) {
    if let Some((k, list)) = &node.attr.requests {
        if list.is_empty() {
            errors.push(
                k.span,
                "`requests` lists the request types the node sends: `requests(\"codegen.request.validate\")`",
            );
        }
        let mut seen = BTreeSet::new();
        for lit in list {
            let value = lit.value();
            if response_of(&value).is_none() {
                errors.push(
                    lit.span(),
                    format!("`{value}` is not a request type: write `{{node_type}}.request.{{name}}`, each segment {SEGMENT_RULE}, e.g. `codegen.request.validate`"),
                );
            } else if !seen.insert(value.clone()) {
                errors.push(
                    lit.span(),
                    format!("the request type `{value}` is listed twice"),
                );
            }
        }
    }
    for handler in &node.handlers {
        let types = &handler.attr.event_types;
        if handler.response().is_some() && types.len() > 1 {
            if let Some(lit) = types.iter().find(|l| response_of(&l.value()).is_some()) {
                errors.push(
                    lit.span(),
                    format!("a handler of the request type `{}` answers it with its return value: it handles that one event type and no other", lit.value()),
                );
            }
        }
    }
}
