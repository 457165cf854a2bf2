//! The catalog literal of the block that declares a node.

use super::event_const;
use crate::ast::Node;
use crate::attr::CratePath;
use crate::names::{path_string, type_string};
use proc_macro2::TokenStream;
use quote::quote;

pub(super) fn catalog(node: &Node, node_type: &str) -> TokenStream {
    let attr = &node.attr;
    let service = attr
        .service
        .as_ref()
        .map_or_else(|| node_type.to_owned(), |l| l.value());
    let namespace = attr
        .namespace
        .as_ref()
        .map_or_else(|| "onex".to_owned(), |l| l.value());
    // Operations and handlers with lifecycle events, in source order.
    let mut named: Vec<(usize, String)> = node
        .operations
        .iter()
        .filter_map(|op| op.attr.name.as_ref().map(|l| (op.index, l.value())))
        .chain(
            node.handlers
                .iter()
                .filter(|h| h.lifecycle())
                .map(|h| (h.index, h.name())),
        )
        .collect();
    named.sort_by_key(|(index, _)| *index);
    let ops: Vec<String> = named.into_iter().map(|(_, name)| name).collect();
    let mut consumed: Vec<String> = Vec::new();
    for lit in node.handlers.iter().flat_map(|h| &h.attr.event_types) {
        if !consumed.contains(&lit.value()) {
            consumed.push(lit.value());
        }
    }
    let consumes_any = node.handlers.iter().any(|h| h.attr.any.is_some());
    let requests = crate::requests::declared(node);
    for response in requests
        .iter()
        .filter_map(|r| crate::requests::response_of(r))
    {
        if !consumed.contains(&response) {
            consumed.push(response);
        }
    }
    let mut responses: Vec<String> = Vec::new();
    for response in node.handlers.iter().filter_map(|h| h.response()) {
        if !responses.contains(&response) {
            responses.push(response);
        }
    }
    let lifecycle = ops.iter().flat_map(|op| {
        ["started", "completed", "failed"].map(|stage| format!("{node_type}.{op}.{stage}"))
    });
    let flag = |f: &Option<syn::LitBool>| f.as_ref().is_none_or(|b| b.value);
    let state = flag(&attr.include_state_events)
        .then(|| format!("{node_type}.state.changed"))
        .into_iter();
    let metric = flag(&attr.include_metric_events)
        .then(|| format!("{node_type}.metric.recorded"))
        .into_iter();
    let rust_type = type_string(&node.item.self_ty);
    let k = CratePath::private(attr.krate.as_ref());
    // Declared events: `events(..)`, then the operations' options, each
    // once; `<P as OnexEvent>` spanned at the path, so a type that is not
    // an event is reported there.
    let mut declared: Vec<&syn::Path> = Vec::new();
    let listed = attr.events.iter().flat_map(|(_, paths)| paths);
    let published = node.operations.iter().flat_map(|op| {
        [&op.attr.on_success, &op.attr.on_error]
            .into_iter()
            .flatten()
            .map(|p| &p.event)
    });
    for path in listed.chain(published) {
        if !declared.iter().any(|d| path_string(d) == path_string(path)) {
            declared.push(path);
        }
    }
    let declared = declared
        .iter()
        .map(|path| event_const(path, &k, "DESCRIPTOR"));
    let consumed_typed = node
        .handlers
        .iter()
        .flat_map(|h| &h.attr.event_paths)
        .map(|path| event_const(path, &k, "EVENT_TYPE"));
    quote! {
        #k::Catalog {
            node_type: #node_type,
            rust_type: #k::core::concat!(#k::core::module_path!(), "::", #rust_type),
            service: #service,
            namespace: #namespace,
            operations: &[#(#ops),*],
            operation_lifecycle: &[#(#lifecycle),*],
            state_events: &[#(#state),*],
            metric_events: &[#(#metric),*],
            consumed_events: &[#(#consumed,)* #(#consumed_typed),*],
            consumes_any: #consumes_any,
            declared_events: &[#(#declared),*],
            requests: &[#(#requests),*],
            responses: &[#(#responses),*],
        }
    }
}
