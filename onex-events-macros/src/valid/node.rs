//! The rules of a node's block: its names, and what its operations and
//! handlers must not share.

use super::{routing_name, Errors, SEGMENT_RULE};
use crate::ast::Node;
use crate::names::is_segment;
use proc_macro2::Span;
use std::collections::BTreeMap;
use syn::{Ident, Result};
impl Node<'_> {
    pub fn validate(&self) -> Result<()> {
        let mut errors = Errors::default();
        if let Some(extend) = &self.attr.extend {
            self.validate_extension(extend.span, &mut errors);
        } else {
            self.validate_declaration(&mut errors);
        }

        let mut seen: BTreeMap<String, &Ident> = BTreeMap::new();
        for op in &self.operations {
            op.validate(&mut errors);
            if let Some(name) = &op.attr.name {
                let value = name.value();
                if let Some(first) = seen.get(&value) {
                    errors.push(
                        name.span(),
                        format!("duplicate operation `{value}` in this node: `fn {first}` already declares it"),
                    );
                } else {
                    seen.insert(value, &op.method.sig.ident);
                }
            }
        }
        self.validate_handlers(&seen, &mut errors);
        crate::requests::validate(self, &mut errors);
        errors.finish()
    }

    /// Each handler's own rules, then those across the node's handlers:
    /// names unique among operations and handlers, each event type handled
    /// once, one catch-all at most. Handlers go in the declaring block.
    fn validate_handlers(&self, operations: &BTreeMap<String, &Ident>, errors: &mut Errors) {
        let mut names: BTreeMap<String, &Ident> = BTreeMap::new();
        let mut event_types: BTreeMap<String, &Ident> = BTreeMap::new();
        let mut event_paths: BTreeMap<String, &Ident> = BTreeMap::new();
        let mut catch_all: Option<&Ident> = None;
        for handler in &self.handlers {
            let fn_name = &handler.method.sig.ident;
            if self.attr.extend.is_some() {
                errors.push(
                    handler.attr.span,
                    "`#[onex_handler]` methods go in the block that declares the node (`#[onex_node(\"..\")]`), not in an `extend` block: the node's `EventHandlers` impl is generated there",
                );
            }
            handler.validate(errors);
            let name = handler.name();
            if let Some(first) = operations.get(&name) {
                errors.push(
                    handler.name_span(),
                    format!("the handler name `{name}` is already the operation of `fn {first}`: a handler is an operation of the node, name it apart with `name = \"..\"`"),
                );
            } else if let Some(first) = names.get(&name) {
                errors.push(
                    handler.name_span(),
                    format!("duplicate handler `{name}` in this node: `fn {first}` already has that name; name it apart with `name = \"..\"`"),
                );
            } else {
                names.insert(name, fn_name);
            }
            for (i, lit) in handler.attr.event_types.iter().enumerate() {
                let value = lit.value();
                if handler.attr.event_types[..i]
                    .iter()
                    .any(|l| l.value() == value)
                {
                    errors.push(
                        lit.span(),
                        format!("the event type `{value}` is listed twice"),
                    );
                } else if let Some(first) = event_types.get(&value) {
                    errors.push(
                        lit.span(),
                        format!("the event type `{value}` is already handled by `fn {first}`: each event type goes to one handler of a node"),
                    );
                } else {
                    event_types.insert(value, fn_name);
                }
            }
            for path in &handler.attr.event_paths {
                let value = crate::names::path_string(path);
                if let Some(first) = event_paths.get(&value) {
                    errors.push_spanned(
                        path,
                        format!("the event `{value}` is already handled by `fn {first}`: each event type goes to one handler of a node"),
                    );
                } else {
                    event_paths.insert(value, fn_name);
                }
            }
            if let Some(any) = &handler.attr.any {
                match catch_all {
                    Some(first) => errors.push(
                        any.span,
                        format!("a node has at most one catch-all handler: `fn {first}` is already `#[onex_handler(any)]`"),
                    ),
                    None => catch_all = Some(fn_name),
                }
            }
        }
    }

    /// An `extend` block takes everything but its operations from the block
    /// that declares the node.
    fn validate_extension(&self, extend: Span, errors: &mut Errors) {
        let attr = &self.attr;
        let declared = [
            attr.node_type.as_ref().map(|l| ("the node type", l.span())),
            attr.service.as_ref().map(|l| ("`service`", l.span())),
            attr.namespace.as_ref().map(|l| ("`namespace`", l.span())),
            attr.include_state_events
                .as_ref()
                .map(|l| ("`include_state_events`", l.span)),
            attr.include_metric_events
                .as_ref()
                .map(|l| ("`include_metric_events`", l.span)),
            attr.requests.as_ref().map(|(k, _)| ("`requests`", k.span)),
        ];
        for (what, span) in declared.into_iter().flatten() {
            errors.push(
                span,
                format!("an `extend` block cannot set {what}: the node's `#[onex_node(\"..\")]` block declares it"),
            );
        }
        if !self.item.generics.params.is_empty() {
            errors.push_spanned(
                &self.item.generics,
                "an `#[onex_node(extend)]` block cannot be generic: its operations join the node's catalog through a link-time registry entry, which names one concrete type; put a generic node's operations in its declaring `#[onex_node(\"..\")]` block",
            );
        }
        if let Some((kw, _)) = &attr.events {
            errors.push(
                kw.span,
                "an `extend` block cannot set `events(..)`: list the node's declared events in its `#[onex_node(\"..\")]` block",
            );
        }
        for op in &self.operations {
            for publish in [&op.attr.on_success, &op.attr.on_error]
                .into_iter()
                .flatten()
            {
                errors.push(
                    publish.span,
                    "`publish_on_success`/`publish_on_error` go on operations of the block that declares the node (`#[onex_node(\"..\")]`), whose catalog lists their events",
                );
            }
        }
        if self.operations.is_empty() && self.handlers.is_empty() {
            errors.push(
                extend,
                "this `#[onex_node(extend)]` block has no `#[onex_operation]` method",
            );
        }
    }

    fn validate_declaration(&self, errors: &mut Errors) {
        match &self.attr.node_type {
            None => errors.push(
                Span::call_site(),
                "missing node type: write `#[onex_node(\"orchestrator\")]` or `#[onex_node(node_type = \"orchestrator\")]`; another block of a node declared elsewhere takes `#[onex_node(extend)]`",
            ),
            Some(lit) if !is_segment(&lit.value()) => errors.push(
                lit.span(),
                format!("the node type `{}` must be {SEGMENT_RULE}", lit.value()),
            ),
            Some(_) => {}
        }
        if let Some(lit) = &self.attr.service {
            routing_name(errors, "service name", lit);
        }
        if let Some(lit) = &self.attr.namespace {
            routing_name(errors, "namespace", lit);
        }
    }
}
